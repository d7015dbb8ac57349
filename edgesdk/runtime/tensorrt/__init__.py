"""TensorRT engines: planning, the engine cache, building and the runner (engine.py)."""
