# Ships in its benchmark's plugin package as tim_bench_plugins/epic/configs/extract/epic_omnivore.py;
# this file lets a clone use the path. Installed: tim-bench extract-features epic_omnivore
_base_ = ["../../plugins/epic/configs/extract/epic_omnivore.py"]
