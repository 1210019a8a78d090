import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from openai import OpenAI
from standardwebhooks import Webhook, WebhookVerificationError

URL = "http://127.0.0.1:8001/videogen"  # where videogen delivers: this machine (the two settings allow it)

client = OpenAI(base_url=os.environ["VIDEOGEN_BASE_URL"], api_key=os.environ["VIDEOGEN_API_KEY"])
endpoint = client.webhooks.create(url=URL, name="local receiver", event_types=["video.completed", "video.failed"])
verifier = Webhook(endpoint.signing_secret)  # whsec_...: shown once; a real receiver keeps it in its config


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            event = verifier.verify(body, dict(self.headers))  # the signature, and a timestamp within 5 minutes
        except WebhookVerificationError as error:
            print("rejected:", error, flush=True)
            self.send_response(400)
            self.end_headers()
            return
        self.send_response(204)  # answer at once; slow work belongs elsewhere
        self.end_headers()
        print(event["type"], event["data"]["id"], event["data"]["status"], flush=True)

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log: the events are the output


listen = urlsplit(URL)
server = ThreadingHTTPServer((listen.hostname, listen.port), Receiver)
serving = threading.Thread(target=server.serve_forever, daemon=True)
serving.start()
print(f"{endpoint.id} receives at {endpoint.url}; Ctrl-C stops it and deletes the endpoint", flush=True)
answer = client.webhooks.test(endpoint.id, event_type="video.completed")  # a signed sample, sent now
print("test event answered", answer.to_dict()["status_code"], flush=True)
try:
    serving.join()
except KeyboardInterrupt:
    server.shutdown()
finally:
    client.webhooks.delete(endpoint.id)
