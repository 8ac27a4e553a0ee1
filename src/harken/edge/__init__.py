"""The hub's outer HTTP defences, in front of every route: security headers, the request-size limit,
rate limits counted across workers and nodes, and the client address they are counted by."""
