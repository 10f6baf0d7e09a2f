package onnx

// DecodeTensor decodes one serialized TensorProto, as the ONNX backend
// test data stores inputs and expected outputs (test_data_set_*/input_N.pb,
// output_N.pb). Errors are *FormatError values with the byte offset; a
// tensor whose data lives in an external file is an error.
func DecodeTensor(data []byte) (*Tensor, error) {
	d := decoder{}
	return d.tensor(data, 0, "TensorProto")
}
