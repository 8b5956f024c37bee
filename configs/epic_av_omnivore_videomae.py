# Ships in its benchmark's plugin package as tim_bench_plugins/epic/configs/epic_av_omnivore_videomae.py;
# this file lets a clone use the path. Installed: tim-bench run epic_av_omnivore_videomae
_base_ = ["../plugins/epic/configs/epic_av_omnivore_videomae.py"]
