# Shared by every shipped recipe; the file itself ships in tim_bench_plugins/configs/_base_/tim_model.py.
_base_ = ["../../plugins/configs/_base_/tim_model.py"]
