"""lerecord as a client of lerobot's async-inference policy server (lerobot 0.6.1's protocol).

`python -m lerobot.async_inference.policy_server --host=… --port=8080` runs the policy (on a GPU
box, say); lerecord sends it observations and records the actions it answers. The wire format
(`wire`), the pickled payloads (`payloads`: written by lerecord, replies read by a restricted
unpickler) and the connection (`server`) are lerecord's own code: lerobot is not imported.
"""
