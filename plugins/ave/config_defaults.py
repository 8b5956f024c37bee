# AVE (Audio-Visual Event): 10 s videos, one query per 1-s segment in each stream, 29 classes.
data_root = "data/ave"  # folder with Annotations.txt, *_order.h5 and the feature .h5 files
dataset = dict(type="AVE")
evaluator = dict(type="AVEAccuracy", main_metric="acc_visual")  # the paper's AVE column
