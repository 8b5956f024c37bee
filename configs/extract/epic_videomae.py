# Ships in its benchmark's plugin package as tim_bench_plugins/epic/configs/extract/epic_videomae.py;
# this file lets a clone use the path. Installed: tim-bench extract-features epic_videomae
_base_ = ["../../plugins/epic/configs/extract/epic_videomae.py"]
