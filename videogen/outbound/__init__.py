"""Requests to hosts our clients name: the SSRF policy and a hardened transport; used for webhook
deliveries and for fetching input images.

- ``url_policy``: which URLs may be reached (https, public addresses only unless the operator
  allows a host), and the vetted address to connect to (``Destination``), so DNS rebinding cannot
  get through.
- ``transport``: ``send`` (a webhook's POST) and ``fetch`` (a GET, e.g. an ``input_reference``
  image URL) to that address only, with connect and total timeouts, a size cap, no redirects.
"""
