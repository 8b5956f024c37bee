# Ships in its benchmark's plugin package as tim_bench_plugins/extractors/configs/extract_logmel_demo.py;
# this file lets a clone use the path. Installed: tim-bench extract-features extract_logmel_demo
_base_ = ["../plugins/extractors/configs/extract_logmel_demo.py"]
