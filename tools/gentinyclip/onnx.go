package main

// Hand-rolled ONNX protobuf writer. Only the handful of messages and fields a
// small inference graph needs are emitted, with the field numbers of
// onnx/onnx.proto (proto2). Fields are written in ascending field-number order
// and repeated scalars unpacked, which is what the canonical protobuf
// serialisation of an onnx.ModelProto looks like, so the output is stable.

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// onnx.proto field numbers.
const (
	// ModelProto
	modelIRVersion       protowire.Number = 1
	modelProducerName    protowire.Number = 2
	modelProducerVersion protowire.Number = 3
	modelDocString       protowire.Number = 6
	modelGraph           protowire.Number = 7
	modelOpsetImport     protowire.Number = 8

	// OperatorSetIdProto
	opsetIDDomain  protowire.Number = 1
	opsetIDVersion protowire.Number = 2

	// GraphProto
	graphNode        protowire.Number = 1
	graphName        protowire.Number = 2
	graphInitializer protowire.Number = 5
	graphInput       protowire.Number = 11
	graphOutput      protowire.Number = 12

	// NodeProto
	nodeInput     protowire.Number = 1
	nodeOutput    protowire.Number = 2
	nodeName      protowire.Number = 3
	nodeOpType    protowire.Number = 4
	nodeAttribute protowire.Number = 5

	// AttributeProto
	attrName protowire.Number = 1
	attrF    protowire.Number = 2
	attrI    protowire.Number = 3
	attrInts protowire.Number = 8
	attrType protowire.Number = 20

	// TensorProto
	tensorDims     protowire.Number = 1
	tensorDataType protowire.Number = 2
	tensorName     protowire.Number = 8
	tensorRawData  protowire.Number = 9

	// ValueInfoProto
	valueInfoName protowire.Number = 1
	valueInfoType protowire.Number = 2

	// TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
	typeTensorType protowire.Number = 1
	tensorElemType protowire.Number = 1
	tensorShape    protowire.Number = 2
	shapeDim       protowire.Number = 1
	dimensionValue protowire.Number = 1
	attrTypeFloat                   = 1 // AttributeProto.FLOAT
	attrTypeInt                     = 2 // AttributeProto.INT
	attrTypeInts                    = 7 // AttributeProto.INTS
	dataTypeFloat                   = 1 // TensorProto.FLOAT
	dataTypeInt64                   = 7 // TensorProto.INT64
)

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendFloat(b []byte, num protowire.Number, f float32) []byte {
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(f))
}

// attribute is one NodeProto attribute: exactly one of f, i, ints is used,
// chosen by kind.
type attribute struct {
	name string
	kind int // attrTypeFloat, attrTypeInt or attrTypeInts
	f    float32
	i    int64
	ints []int64
}

func attrInt(name string, v int64) attribute { return attribute{name: name, kind: attrTypeInt, i: v} }
func attrFloat(name string, v float32) attribute {
	return attribute{name: name, kind: attrTypeFloat, f: v}
}
func attrIntList(name string, v ...int64) attribute {
	return attribute{name: name, kind: attrTypeInts, ints: v}
}

func (a attribute) marshal() []byte {
	var b []byte
	b = appendString(b, attrName, a.name)
	switch a.kind {
	case attrTypeFloat:
		b = appendFloat(b, attrF, a.f)
	case attrTypeInt:
		b = appendVarint(b, attrI, a.i)
	case attrTypeInts:
		for _, v := range a.ints {
			b = appendVarint(b, attrInts, v)
		}
	default:
		panic("unsupported attribute kind")
	}
	return appendVarint(b, attrType, int64(a.kind))
}

type node struct {
	name    string
	opType  string
	inputs  []string
	outputs []string
	attrs   []attribute
}

func (n node) marshal() []byte {
	var b []byte
	for _, s := range n.inputs {
		b = appendString(b, nodeInput, s)
	}
	for _, s := range n.outputs {
		b = appendString(b, nodeOutput, s)
	}
	b = appendString(b, nodeName, n.name)
	b = appendString(b, nodeOpType, n.opType)
	for _, a := range n.attrs {
		b = appendBytes(b, nodeAttribute, a.marshal())
	}
	return b
}

// tensor is an initializer; exactly one of floats / int64s is set. Data is
// stored little-endian in raw_data, as the ONNX spec requires.
type tensor struct {
	name   string
	dims   []int64
	floats []float32
	int64s []int64
}

func (t tensor) numel() int64 {
	n := int64(1)
	for _, d := range t.dims {
		n *= d
	}
	return n
}

func (t tensor) marshal() []byte {
	var b []byte
	for _, d := range t.dims {
		b = appendVarint(b, tensorDims, d)
	}
	var raw []byte
	if t.int64s != nil {
		if int64(len(t.int64s)) != t.numel() {
			panic("tensor " + t.name + ": int64 data does not match dims")
		}
		b = appendVarint(b, tensorDataType, dataTypeInt64)
		for _, v := range t.int64s {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	} else {
		if int64(len(t.floats)) != t.numel() {
			panic("tensor " + t.name + ": float data does not match dims")
		}
		b = appendVarint(b, tensorDataType, dataTypeFloat)
		for _, v := range t.floats {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	}
	b = appendString(b, tensorName, t.name)
	return appendBytes(b, tensorRawData, raw)
}

// valueInfo is a graph input/output: a float32 tensor of fixed shape.
type valueInfo struct {
	name  string
	shape []int64
}

func (v valueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.shape {
		shape = appendBytes(shape, shapeDim, appendVarint(nil, dimensionValue, d))
	}
	var tt []byte
	tt = appendVarint(tt, tensorElemType, dataTypeFloat)
	tt = appendBytes(tt, tensorShape, shape)
	var b []byte
	b = appendString(b, valueInfoName, v.name)
	return appendBytes(b, valueInfoType, appendBytes(nil, typeTensorType, tt))
}

type graph struct {
	name         string
	nodes        []node
	initializers []tensor
	inputs       []valueInfo
	outputs      []valueInfo
}

func (g graph) marshal() []byte {
	var b []byte
	for _, n := range g.nodes {
		b = appendBytes(b, graphNode, n.marshal())
	}
	b = appendString(b, graphName, g.name)
	for _, t := range g.initializers {
		b = appendBytes(b, graphInitializer, t.marshal())
	}
	for _, v := range g.inputs {
		b = appendBytes(b, graphInput, v.marshal())
	}
	for _, v := range g.outputs {
		b = appendBytes(b, graphOutput, v.marshal())
	}
	return b
}

type model struct {
	irVersion       int64
	producerName    string
	producerVersion string
	docString       string
	graph           graph
	opsetVersion    int64 // default ("" / ai.onnx) domain
}

func (m model) marshal() []byte {
	var b []byte
	b = appendVarint(b, modelIRVersion, m.irVersion)
	b = appendString(b, modelProducerName, m.producerName)
	b = appendString(b, modelProducerVersion, m.producerVersion)
	b = appendString(b, modelDocString, m.docString)
	b = appendBytes(b, modelGraph, m.graph.marshal())
	opset := appendString(nil, opsetIDDomain, "")
	opset = appendVarint(opset, opsetIDVersion, m.opsetVersion)
	return appendBytes(b, modelOpsetImport, opset)
}
