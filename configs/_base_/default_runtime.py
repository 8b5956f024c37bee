# Shared by every shipped recipe; the file itself ships in tim_bench_plugins/configs/_base_/default_runtime.py.
_base_ = ["../../plugins/configs/_base_/default_runtime.py"]
