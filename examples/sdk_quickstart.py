import os
import warnings

from openai import OpenAI

# The SDK marks every videos method deprecated because OpenAI shut Sora's API down; against
# videogen they work as before, so the warning is noise here.
warnings.filterwarnings("ignore", message="The Sora API", category=DeprecationWarning)

client = OpenAI(base_url=os.environ["VIDEOGEN_BASE_URL"], api_key=os.environ["VIDEOGEN_API_KEY"])
video = client.videos.create_and_poll(
    prompt="a red fox runs through snow",
    model="hunyuanvideo-tiny",  # "hunyuanvideo" on a GPU deployment
    seconds="1",
    size="128x128",
    extra_body={"seed": 42, "num_inference_steps": 4, "metadata": {"order": "1234"}},
)
if video.status != "completed":
    raise SystemExit(f"{video.id} {video.status}: {video.error}")
print(video.id, video.status, "seed", video.model_extra["seed"])
client.videos.download_content(video.id).write_to_file("fox.mp4")
client.videos.download_content(video.id, variant="thumbnail").write_to_file("fox.jpg")
print("saved fox.mp4 and fox.jpg")
