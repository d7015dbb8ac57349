"""What a bundle's ONNX graphs may depend on: only their own bytes (docs/security.md).

A graph whose tensors are ONNX *external data* (``location="gen.bin"``) makes ONNX Runtime
and TensorRT's parser read a file the manifest does not pin, from wherever the process
runs; an operator of an unknown domain makes it run code a plugin library provides. Both
are refused when a bundle is opened (so for every backend, and by ``edgesdk verify``), by
walking the protobuf wire format directly: no ``onnx`` package is needed on a device.

Refused: tensors with ``data_location = EXTERNAL`` or ``external_data`` entries (initializers,
sparse initializers, attribute tensors, in every subgraph and local function), operator
domains other than the default ONNX domain (``""``/``ai.onnx``) and the model's own local
functions, opset imports of other domains, training information, and anything that does
not parse as a ModelProto.
"""

from __future__ import annotations

from edgesdk.errors import BundleIntegrityError

ALLOWED_DOMAINS = frozenset({"", "ai.onnx"})
_MAX_DEPTH = 32  # subgraph nesting (If/Loop bodies); real graphs use a few levels

# Field numbers (onnx/onnx.proto, IR version 10).
_MODEL_GRAPH, _MODEL_OPSET, _MODEL_TRAINING, _MODEL_FUNCTIONS = 7, 8, 20, 25
_OPSET_DOMAIN = 1
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 1, 5, 15
_NODE_ATTRIBUTE, _NODE_DOMAIN = 5, 7
_ATTR_T, _ATTR_G, _ATTR_TENSORS, _ATTR_GRAPHS, _ATTR_SPARSE, _ATTR_SPARSES = 5, 6, 10, 11, 22, 23
_TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION = 13, 14
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_FUNCTION_NODE, _FUNCTION_OPSET, _FUNCTION_DOMAIN, _FUNCTION_NAME = 7, 9, 10, 1


class _Malformed(Exception):
    pass


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise _Malformed("truncated or overlong varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: memoryview):
    """(field number, wire type, value) of one message: ints for varints and fixed, memoryviews
    for length-delimited fields."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed("field number 0")
        if wire == 0:
            value, position = _varint(data, position)
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if position + size > len(data):
                raise _Malformed("truncated fixed-size field")
            value, position = int.from_bytes(data[position:position + size], "little"), position + size
        elif wire == 2:
            size, position = _varint(data, position)
            if position + size > len(data):
                raise _Malformed("length-delimited field runs past its message")
            value, position = data[position:position + size], position + size
        else:
            raise _Malformed(f"wire type {wire} (groups are not ONNX)")
        yield number, wire, value


def _text(value) -> str:
    if not isinstance(value, memoryview):
        raise _Malformed("a string field is not length-delimited")
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Malformed("a string field is not UTF-8") from error


def _message(value) -> memoryview:
    if not isinstance(value, memoryview):
        raise _Malformed("a message field is not length-delimited")
    return value


class _Checker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.local_domains: set[str] = set()

    def refuse(self, what: str) -> None:
        raise BundleIntegrityError(f"graph {self.name}: {what}; a bundle's graphs may depend only on their own "
                                   f"bytes and the standard ONNX operators (docs/security.md)")

    def model(self, data: memoryview) -> None:
        graphs, functions = [], []
        for number, _, value in _fields(data):
            if number == _MODEL_GRAPH:
                graphs.append(_message(value))
            elif number == _MODEL_OPSET:
                self.opset(_message(value))
            elif number == _MODEL_TRAINING:
                self.refuse("it carries training information")
            elif number == _MODEL_FUNCTIONS:
                functions.append(_message(value))
        if len(graphs) != 1:
            self.refuse("it is not an ONNX model with one graph")
        for function in functions:  # local functions are part of the model's bytes
            for number, _, value in _fields(function):
                if number == _FUNCTION_DOMAIN:
                    self.local_domains.add(_text(value))
        for function in functions:
            for number, _, value in _fields(function):
                if number == _FUNCTION_NODE:
                    self.node(_message(value), 1)
                elif number == _FUNCTION_OPSET:
                    self.opset(_message(value))
        self.graph(graphs[0], 0)

    def opset(self, data: memoryview) -> None:
        for number, _, value in _fields(data):
            if number == _OPSET_DOMAIN and _text(value) not in ALLOWED_DOMAINS:
                self.refuse(f"it imports the operator set of domain {_text(value)!r}")

    def graph(self, data: memoryview, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.refuse(f"subgraphs nest deeper than {_MAX_DEPTH}")
        for number, _, value in _fields(data):
            if number == _GRAPH_NODE:
                self.node(_message(value), depth)
            elif number == _GRAPH_INITIALIZER:
                self.tensor(_message(value))
            elif number == _GRAPH_SPARSE_INITIALIZER:
                self.sparse(_message(value))

    def node(self, data: memoryview, depth: int) -> None:
        for number, _, value in _fields(data):
            if number == _NODE_DOMAIN:
                domain = _text(value)
                if domain not in ALLOWED_DOMAINS and domain not in self.local_domains:
                    self.refuse(f"it uses an operator of domain {domain!r}")
            elif number == _NODE_ATTRIBUTE:
                self.attribute(_message(value), depth)

    def attribute(self, data: memoryview, depth: int) -> None:
        for number, _, value in _fields(data):
            if number in (_ATTR_T, _ATTR_TENSORS):
                self.tensor(_message(value))
            elif number in (_ATTR_G, _ATTR_GRAPHS):
                self.graph(_message(value), depth + 1)
            elif number in (_ATTR_SPARSE, _ATTR_SPARSES):
                self.sparse(_message(value))

    def sparse(self, data: memoryview) -> None:
        for number, _, value in _fields(data):
            if number in (_SPARSE_VALUES, _SPARSE_INDICES):
                self.tensor(_message(value))

    def tensor(self, data: memoryview) -> None:
        for number, _, value in _fields(data):
            if number == _TENSOR_EXTERNAL_DATA or (number == _TENSOR_DATA_LOCATION and value != 0):
                self.refuse("its weights are ONNX external data (files outside the graph that the manifest "
                            "does not pin); export with the weights inside the graph")


def check_graph(name: str, data: bytes) -> None:
    """Raises BundleIntegrityError unless ``data`` is an ONNX model that depends only on its
    own bytes and on operators of the default domain (or its own local functions)."""
    checker = _Checker(name)
    try:
        checker.model(memoryview(data))
    except _Malformed as error:
        raise BundleIntegrityError(f"graph {name} is not a well-formed ONNX model ({error})") from None
