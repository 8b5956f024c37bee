# Ships in its benchmark's plugin package as tim_bench_plugins/ave/configs/extract/ave_vggish.py;
# this file lets a clone use the path. Installed: tim-bench extract-features ave_vggish
_base_ = ["../../plugins/ave/configs/extract/ave_vggish.py"]
