# Ships in its benchmark's plugin package as tim_bench_plugins/epic/configs/epic_visual.py;
# this file lets a clone use the path. Installed: tim-bench run epic_visual
_base_ = ["../plugins/epic/configs/epic_visual.py"]
