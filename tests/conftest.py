"""Shared test data: the reference config as a dict."""

import os

# TensorFlow's C++ start-up chatter, as the hlsgen command silences it (hlsgen.cli.main)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# configs/mnist.yaml, as a dict (these tests do not depend on that file's formatting)
REFERENCE = {
    "name": "mnist_cnn", "seed": 1, "data": {"dataset": "mnist", "path": None},
    "model": {"input_shape": [28, 28, 1], "layers": [
        {"type": "Conv2D", "name": "conv1", "filters": 2, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D", "name": "pool1", "pool_size": 2},
        {"type": "Flatten", "name": "flatten"},
        {"type": "Dense", "name": "fc1", "units": 128, "activation": "relu"},
        {"type": "Dropout", "name": "drop1", "rate": 0.5},
        {"type": "Dense", "name": "fc2", "units": 10, "activation": "softmax"}]},
    "train": {"epochs": 12, "batch_size": 128, "optimizer": "adadelta", "learning_rate": 1.0},
    "precision": {
        "input": "ap_ufixed<8,0>",
        "default": {"weight": "ap_fixed<8,1>", "bias": "ap_fixed<8,1>",
                    "result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"},
        "layers": {"conv1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc1": {"result": "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"},
                   "fc2": {"weight": "ap_fixed<8,2>", "bias": "ap_fixed<8,2>",
                           "result": "ap_fixed<8,4,AP_RND_CONV,AP_SAT>"}},
        "softmax": {"result": "ap_ufixed<8,0,AP_RND_CONV,AP_SAT>"}},
    "hls": {"softmax": "stable", "reuse_factor": {"default": 64}},
    "output_dir": "build/mnist_cnn",
}
