// ONNX model files: networks trained elsewhere (PyTorch's torch.onnx.export) as Tessera graphs, and
// Tessera graphs as ONNX for other tools. Part of the optional tessera::onnx library (Debian's
// libonnx-dev); find_package(tessera COMPONENTS onnx).
//
//   tessera::Graph net = tessera::load_onnx("resnet.onnx");   // ready for eval() and for training
//   tessera::save_onnx(net, "copy.onnx");
//
// ONNX images are NCHW; Tessera's are NHWC, so the import translates: an input [N, C, H, W] becomes a
// graph input [H, W, C], convolution weights are permuted to [kh, kw, in, out], and the rows of the
// first Gemm/MatMul after a Flatten are reordered from ONNX's (c, h, w) to Tessera's (h, w, c). The
// network then computes the same function at full speed. The export makes the inverse translation.
//
// Supported (opsets 11 to 18, the default domain): Gemm, MatMul (2-D, constant B), Add (a bias after
// Gemm/MatMul, two tensors of one shape, or a scalar), Sub/Mul/Div by a scalar, Relu, LeakyRelu,
// Sigmoid, Tanh, Elu, Gelu and its Erf form, Softmax and LogSoftmax (over features), Conv (2-D, square kernel,
// equal strides and pads, dilation 1, group 1), MaxPool, AveragePool (no padding), GlobalAveragePool,
// BatchNormalization (inference form), Flatten, Reshape to [batch, features] with a constant shape,
// Concat (channels or features), Dropout and Identity (dropped), Constant. Anything else (operator,
// attribute, dynamic shape, element type) is an OnnxError naming the file, the node and what is not
// supported, never a different function.
#pragma once

#include <filesystem>
#include <stdexcept>

#include "tessera/graph.hpp"

namespace tessera {

// An ONNX file that cannot be read or written, or a model Tessera cannot represent: the message names
// the file, the node (index, name and operator) where there is one, and the problem.
class OnnxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads an ONNX model: its graph inputs (all but the first extent fixed; the first is the batch)
// become graph inputs named as in the file, its nodes layers named after their first output, its
// float initialisers the layers' parameters, BatchNormalization's mean and variance buffers, and
// its graph outputs the graph's outputs. The graph is in training mode (call eval() for inference).
// Throws OnnxError.
Graph load_onnx(const std::filesystem::path& file);

// Writes `net` as an ONNX model (opset 13, NCHW images, the batch extent symbolic "N"), atomically
// (a temporary file renamed over `file`). Layers without an ONNX form (LayerNorm, SiLU, Standardize,
// the user's own) are an OnnxError naming the layer. Takes the graph by non-const reference only to
// read its parameters.
void save_onnx(Graph& net, const std::filesystem::path& file);

}  // namespace tessera
