"""The graphs a codec model runs and the precisions they come in: the one home of these names."""

from edgesdk.bundle.manifest import GRAPHS  # noqa: F401 - the graphs each quality level has

# Every precision a device profile or a TensorRT engine may name.
PRECISIONS = ("fp32", "fp16", "bf16", "int8", "fp8")
# The precisions a bundle ships ONNX graphs in (int8: generators quantized with Q/DQ nodes,
# edgesdk_export.int8); what open_runner accepts.
BUNDLE_PRECISIONS = ("fp32", "fp16", "int8")
QDQ_PRECISIONS = ("int8", "fp8")  # need a graph quantized with explicit Q/DQ nodes
DLA_PRECISIONS = ("fp16", "int8")
