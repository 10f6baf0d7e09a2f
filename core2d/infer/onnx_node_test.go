package infer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// nodeDataDir holds the ONNX backend node tests of Debian's libonnx-testdata
// (ONNX 1.12: opsets up to 17). Each case is a one-node model.onnx and
// test_data_set_*/input_N.pb, output_N.pb (serialized TensorProtos)
// computed by the ONNX reference implementation — an independent
// expectation for every op.
const nodeDataDir = "/usr/share/libonnx-testdata/data/node"

// nodeCase is how a node test is checked: outputs must satisfy
// |got − want| ≤ tol·(1 + |want|) (tol 0 means 1e-5); integer and bool
// outputs must match exactly.
//
// Integer and bool graph inputs are fed as float32 values (exact below
// 2^24), as the engine carries them.
type nodeCase struct {
	tol  float64
	note string
}

// nodeCases lists the node tests that must pass, by directory name. Add
// yours here.
var nodeCases = map[string]nodeCase{
	// (function bodies: *_expanded)
	"test_hardswish_expanded": {}, "test_logsoftmax_axis_0_expanded": {}, "test_logsoftmax_axis_1_expanded": {},
	"test_logsoftmax_axis_2_expanded": {}, "test_logsoftmax_default_axis_expanded": {}, "test_logsoftmax_example_1_expanded": {},
	"test_logsoftmax_large_number_expanded": {}, "test_logsoftmax_negative_axis_expanded": {}, "test_mvn_expanded": {},
	"test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn": {}, "test_softmax_axis_0_expanded": {},
	"test_softmax_axis_1_expanded": {}, "test_softmax_axis_2_expanded": {}, "test_softmax_default_axis_expanded": {},
	"test_softmax_example_expanded": {}, "test_softmax_large_number_expanded": {}, "test_softmax_negative_axis_expanded": {},
	// Abs
	"test_abs": {},
	// Add
	"test_add": {}, "test_add_bcast": {},
	// ArgMax
	"test_argmax_default_axis_example": {}, "test_argmax_default_axis_example_select_last_index": {},
	"test_argmax_default_axis_random": {}, "test_argmax_default_axis_random_select_last_index": {},
	"test_argmax_keepdims_example": {}, "test_argmax_keepdims_example_select_last_index": {}, "test_argmax_keepdims_random": {},
	"test_argmax_keepdims_random_select_last_index": {}, "test_argmax_negative_axis_keepdims_example": {},
	"test_argmax_negative_axis_keepdims_example_select_last_index": {}, "test_argmax_negative_axis_keepdims_random": {},
	"test_argmax_negative_axis_keepdims_random_select_last_index": {}, "test_argmax_no_keepdims_example": {},
	"test_argmax_no_keepdims_example_select_last_index": {}, "test_argmax_no_keepdims_random": {},
	"test_argmax_no_keepdims_random_select_last_index": {},
	// ArgMin
	"test_argmin_default_axis_example": {}, "test_argmin_default_axis_example_select_last_index": {},
	"test_argmin_default_axis_random": {}, "test_argmin_default_axis_random_select_last_index": {},
	"test_argmin_keepdims_example": {}, "test_argmin_keepdims_example_select_last_index": {}, "test_argmin_keepdims_random": {},
	"test_argmin_keepdims_random_select_last_index": {}, "test_argmin_negative_axis_keepdims_example": {},
	"test_argmin_negative_axis_keepdims_example_select_last_index": {}, "test_argmin_negative_axis_keepdims_random": {},
	"test_argmin_negative_axis_keepdims_random_select_last_index": {}, "test_argmin_no_keepdims_example": {},
	"test_argmin_no_keepdims_example_select_last_index": {}, "test_argmin_no_keepdims_random": {},
	"test_argmin_no_keepdims_random_select_last_index": {},
	// AveragePool
	"test_averagepool_2d_ceil": {}, "test_averagepool_2d_default": {}, "test_averagepool_2d_pads": {},
	"test_averagepool_2d_pads_count_include_pad": {}, "test_averagepool_2d_precomputed_pads": {},
	"test_averagepool_2d_precomputed_pads_count_include_pad": {}, "test_averagepool_2d_precomputed_same_upper": {},
	"test_averagepool_2d_precomputed_strides": {}, "test_averagepool_2d_same_lower": {}, "test_averagepool_2d_same_upper": {},
	"test_averagepool_2d_strides": {},
	// BatchNormalization
	"test_batchnorm_epsilon": {}, "test_batchnorm_example": {},
	// Cast
	"test_cast_FLOAT_to_DOUBLE": {}, "test_cast_FLOAT_to_FLOAT16": {},
	// Ceil
	"test_ceil": {}, "test_ceil_example": {},
	// Clip
	"test_clip": {}, "test_clip_default_inbounds": {}, "test_clip_default_int8_inbounds": {note: "integer data fed as float32"},
	"test_clip_default_int8_max": {note: "integer data fed as float32"}, "test_clip_default_int8_min": {note: "integer data fed as float32"},
	"test_clip_default_max": {}, "test_clip_default_min": {}, "test_clip_example": {}, "test_clip_inbounds": {},
	"test_clip_outbounds": {}, "test_clip_splitbounds": {},
	// Concat
	"test_concat_1d_axis_0": {}, "test_concat_1d_axis_negative_1": {}, "test_concat_2d_axis_0": {},
	"test_concat_2d_axis_1": {}, "test_concat_2d_axis_negative_1": {}, "test_concat_2d_axis_negative_2": {},
	"test_concat_3d_axis_0": {}, "test_concat_3d_axis_1": {}, "test_concat_3d_axis_2": {}, "test_concat_3d_axis_negative_1": {},
	"test_concat_3d_axis_negative_2": {}, "test_concat_3d_axis_negative_3": {},
	// Constant
	"test_constant": {},
	// ConstantOfShape
	"test_constantofshape_float_ones": {}, "test_constantofshape_int_shape_zero": {}, "test_constantofshape_int_zeros": {},
	// Conv
	"test_basic_conv_with_padding": {}, "test_basic_conv_without_padding": {}, "test_conv_with_autopad_same": {},
	"test_conv_with_strides_and_asymmetric_padding": {}, "test_conv_with_strides_no_padding": {},
	"test_conv_with_strides_padding": {},
	// Div
	"test_div": {}, "test_div_bcast": {}, "test_div_example": {},
	// Equal
	"test_equal": {}, "test_equal_bcast": {},
	// Exp
	"test_exp": {}, "test_exp_example": {},
	// Expand
	"test_expand_dim_changed": {}, "test_expand_dim_unchanged": {},
	// Flatten
	"test_flatten_axis0": {}, "test_flatten_axis1": {}, "test_flatten_axis2": {}, "test_flatten_axis3": {},
	"test_flatten_default_axis": {}, "test_flatten_negative_axis1": {}, "test_flatten_negative_axis2": {},
	"test_flatten_negative_axis3": {}, "test_flatten_negative_axis4": {},
	// Floor
	"test_floor": {}, "test_floor_example": {},
	// Gather
	"test_gather_0": {}, "test_gather_1": {}, "test_gather_2d_indices": {}, "test_gather_negative_indices": {},
	// Gemm
	"test_gemm_all_attributes": {}, "test_gemm_alpha": {}, "test_gemm_beta": {}, "test_gemm_default_matrix_bias": {},
	"test_gemm_default_no_bias": {}, "test_gemm_default_scalar_bias": {}, "test_gemm_default_single_elem_vector_bias": {},
	"test_gemm_default_vector_bias": {}, "test_gemm_default_zero_bias": {}, "test_gemm_transposeA": {},
	"test_gemm_transposeB": {},
	// GlobalAveragePool
	"test_globalaveragepool": {}, "test_globalaveragepool_precomputed": {},
	// Greater
	"test_greater": {}, "test_greater_bcast": {},
	// GreaterOrEqual
	"test_greater_equal": {}, "test_greater_equal_bcast": {},
	// HardSigmoid
	"test_hardsigmoid": {}, "test_hardsigmoid_default": {}, "test_hardsigmoid_example": {},
	// HardSwish
	"test_hardswish": {},
	// Identity
	"test_identity": {},
	// LayerNormalization (opset 17; Y, Mean and InvStdDev)
	"test_layer_normalization_2d_axis0": {}, "test_layer_normalization_2d_axis1": {},
	"test_layer_normalization_2d_axis_negative_1": {}, "test_layer_normalization_2d_axis_negative_2": {},
	"test_layer_normalization_3d_axis0_epsilon": {}, "test_layer_normalization_3d_axis1_epsilon": {},
	"test_layer_normalization_3d_axis2_epsilon": {}, "test_layer_normalization_3d_axis_negative_1_epsilon": {},
	"test_layer_normalization_3d_axis_negative_2_epsilon": {}, "test_layer_normalization_3d_axis_negative_3_epsilon": {},
	"test_layer_normalization_4d_axis0": {}, "test_layer_normalization_4d_axis1": {},
	"test_layer_normalization_4d_axis2": {}, "test_layer_normalization_4d_axis3": {},
	"test_layer_normalization_4d_axis_negative_1": {}, "test_layer_normalization_4d_axis_negative_2": {},
	"test_layer_normalization_4d_axis_negative_3": {}, "test_layer_normalization_4d_axis_negative_4": {},
	"test_layer_normalization_default_axis": {},
	// LeakyRelu
	"test_leakyrelu": {}, "test_leakyrelu_default": {}, "test_leakyrelu_example": {},
	// Less
	"test_less": {}, "test_less_bcast": {},
	// LessOrEqual
	"test_less_equal": {}, "test_less_equal_bcast": {},
	// Log
	"test_log": {}, "test_log_example": {},
	// LogSoftmax
	"test_logsoftmax_axis_0": {}, "test_logsoftmax_axis_1": {}, "test_logsoftmax_axis_2": {}, "test_logsoftmax_default_axis": {},
	"test_logsoftmax_example_1": {}, "test_logsoftmax_large_number": {}, "test_logsoftmax_negative_axis": {},
	// MatMul
	"test_matmul_2d": {}, "test_matmul_3d": {}, "test_matmul_4d": {},
	// Max
	"test_max_example": {}, "test_max_float32": {}, "test_max_int16": {}, "test_max_int32": {}, "test_max_int64": {},
	"test_max_int8": {note: "integer data fed as float32"}, "test_max_one_input": {}, "test_max_two_inputs": {},
	"test_max_uint16": {}, "test_max_uint32": {}, "test_max_uint8": {note: "integer data fed as float32"},
	// MaxPool
	"test_maxpool_2d_ceil": {}, "test_maxpool_2d_default": {}, "test_maxpool_2d_dilations": {}, "test_maxpool_2d_pads": {},
	"test_maxpool_2d_precomputed_pads": {}, "test_maxpool_2d_precomputed_same_upper": {}, "test_maxpool_2d_precomputed_strides": {},
	"test_maxpool_2d_same_lower": {}, "test_maxpool_2d_same_upper": {}, "test_maxpool_2d_strides": {},
	"test_maxpool_2d_uint8": {note: "integer data fed as float32"},
	// Min
	"test_min_example": {}, "test_min_float32": {}, "test_min_int16": {}, "test_min_int32": {}, "test_min_int64": {},
	"test_min_int8": {note: "integer data fed as float32"}, "test_min_one_input": {}, "test_min_two_inputs": {},
	"test_min_uint16": {}, "test_min_uint32": {}, "test_min_uint8": {note: "integer data fed as float32"},
	// Mul
	"test_mul": {}, "test_mul_bcast": {}, "test_mul_example": {},
	// Neg
	"test_neg": {}, "test_neg_example": {},
	// Pad
	"test_constant_pad": {}, "test_edge_pad": {}, "test_reflect_pad": {},
	// Pow
	"test_pow": {}, "test_pow_bcast_array": {}, "test_pow_bcast_scalar": {}, "test_pow_example": {},
	"test_pow_types_float": {}, "test_pow_types_float32_int32": {}, "test_pow_types_float32_int64": {},
	"test_pow_types_float32_uint32": {},
	// integer arithmetic on run-time integer tensors (intsem.go): int64
	// semantics wrapped to the type; wrap-around itself is checked by
	// TestIntegerSemantics (these data sets do not overflow)
	"test_add_uint8": {}, "test_sub_uint8": {}, "test_mul_uint8": {}, "test_div_uint8": {note: "integer division, not 1.4545"},
	"test_pow_types_int": {}, "test_pow_types_int32_float32": {}, "test_pow_types_int32_int32": {},
	"test_pow_types_int64_float32": {}, "test_pow_types_int64_int64": {},
	"test_mod_broadcast": {}, "test_mod_int64_fmod": {}, "test_mod_mixed_sign_float32": {}, "test_mod_mixed_sign_int16": {},
	"test_mod_mixed_sign_int32": {}, "test_mod_mixed_sign_int64": {}, "test_mod_mixed_sign_int8": {}, "test_mod_uint16": {},
	"test_mod_uint32": {}, "test_mod_uint8": {},
	// ReduceL1
	"test_reduce_l1_default_axes_keepdims_example": {}, "test_reduce_l1_default_axes_keepdims_random": {},
	"test_reduce_l1_do_not_keepdims_example": {}, "test_reduce_l1_do_not_keepdims_random": {}, "test_reduce_l1_keep_dims_example": {},
	"test_reduce_l1_keep_dims_random": {}, "test_reduce_l1_negative_axes_keep_dims_example": {},
	"test_reduce_l1_negative_axes_keep_dims_random": {},
	// ReduceL2
	"test_reduce_l2_default_axes_keepdims_example": {}, "test_reduce_l2_default_axes_keepdims_random": {},
	"test_reduce_l2_do_not_keepdims_example": {}, "test_reduce_l2_do_not_keepdims_random": {}, "test_reduce_l2_keep_dims_example": {},
	"test_reduce_l2_keep_dims_random": {}, "test_reduce_l2_negative_axes_keep_dims_example": {},
	"test_reduce_l2_negative_axes_keep_dims_random": {},
	// ReduceLogSum
	"test_reduce_log_sum": {}, "test_reduce_log_sum_asc_axes": {}, "test_reduce_log_sum_default": {},
	"test_reduce_log_sum_desc_axes": {}, "test_reduce_log_sum_negative_axes": {},
	// ReduceMax
	"test_reduce_max_default_axes_keepdim_example": {}, "test_reduce_max_default_axes_keepdims_random": {},
	"test_reduce_max_do_not_keepdims_example": {}, "test_reduce_max_do_not_keepdims_random": {},
	"test_reduce_max_keepdims_example": {}, "test_reduce_max_keepdims_random": {}, "test_reduce_max_negative_axes_keepdims_example": {},
	"test_reduce_max_negative_axes_keepdims_random": {},
	// ReduceMean
	"test_reduce_mean_default_axes_keepdims_example": {}, "test_reduce_mean_default_axes_keepdims_random": {},
	"test_reduce_mean_do_not_keepdims_example": {}, "test_reduce_mean_do_not_keepdims_random": {},
	"test_reduce_mean_keepdims_example": {}, "test_reduce_mean_keepdims_random": {}, "test_reduce_mean_negative_axes_keepdims_example": {},
	"test_reduce_mean_negative_axes_keepdims_random": {},
	// ReduceMin
	"test_reduce_min_default_axes_keepdims_example": {}, "test_reduce_min_default_axes_keepdims_random": {},
	"test_reduce_min_do_not_keepdims_example": {}, "test_reduce_min_do_not_keepdims_random": {},
	"test_reduce_min_keepdims_example": {}, "test_reduce_min_keepdims_random": {}, "test_reduce_min_negative_axes_keepdims_example": {},
	"test_reduce_min_negative_axes_keepdims_random": {},
	// ReduceProd
	"test_reduce_prod_default_axes_keepdims_example": {}, "test_reduce_prod_default_axes_keepdims_random": {},
	"test_reduce_prod_do_not_keepdims_example": {}, "test_reduce_prod_do_not_keepdims_random": {},
	"test_reduce_prod_keepdims_example": {}, "test_reduce_prod_keepdims_random": {}, "test_reduce_prod_negative_axes_keepdims_example": {},
	"test_reduce_prod_negative_axes_keepdims_random": {},
	// ReduceSum
	"test_reduce_sum_default_axes_keepdims_example": {}, "test_reduce_sum_default_axes_keepdims_random": {},
	"test_reduce_sum_do_not_keepdims_example": {}, "test_reduce_sum_do_not_keepdims_random": {},
	"test_reduce_sum_empty_axes_input_noop_example": {}, "test_reduce_sum_empty_axes_input_noop_random": {},
	"test_reduce_sum_keepdims_example": {}, "test_reduce_sum_keepdims_random": {}, "test_reduce_sum_negative_axes_keepdims_example": {},
	"test_reduce_sum_negative_axes_keepdims_random": {},
	// ReduceSumSquare
	"test_reduce_sum_square_default_axes_keepdims_example": {}, "test_reduce_sum_square_default_axes_keepdims_random": {},
	"test_reduce_sum_square_do_not_keepdims_example": {}, "test_reduce_sum_square_do_not_keepdims_random": {},
	"test_reduce_sum_square_keepdims_example": {}, "test_reduce_sum_square_keepdims_random": {},
	"test_reduce_sum_square_negative_axes_keepdims_example": {}, "test_reduce_sum_square_negative_axes_keepdims_random": {},
	// Relu
	"test_relu": {},
	// Reshape
	"test_reshape_allowzero_reordered": {}, "test_reshape_extended_dims": {}, "test_reshape_negative_dim": {},
	"test_reshape_negative_extended_dims": {}, "test_reshape_one_dim": {}, "test_reshape_reduced_dims": {},
	"test_reshape_reordered_all_dims": {}, "test_reshape_reordered_last_dims": {}, "test_reshape_zero_and_negative_dim": {},
	"test_reshape_zero_dim": {},
	// Resize
	"test_resize_downsample_scales_linear": {}, "test_resize_downsample_scales_linear_align_corners": {},
	"test_resize_downsample_scales_nearest": {}, "test_resize_downsample_sizes_linear_pytorch_half_pixel": {},
	"test_resize_downsample_sizes_nearest": {}, "test_resize_upsample_scales_linear": {}, "test_resize_upsample_scales_linear_align_corners": {},
	"test_resize_upsample_scales_nearest": {}, "test_resize_upsample_sizes_nearest": {}, "test_resize_upsample_sizes_nearest_ceil_half_pixel": {},
	"test_resize_upsample_sizes_nearest_floor_align_corners": {}, "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric": {},
	// Shape
	"test_shape": {}, "test_shape_clip_end": {}, "test_shape_clip_start": {}, "test_shape_end_1": {},
	"test_shape_end_negative_1": {}, "test_shape_example": {}, "test_shape_start_1": {}, "test_shape_start_1_end_2": {},
	"test_shape_start_1_end_negative_1": {}, "test_shape_start_negative_1": {},
	// Sigmoid
	"test_sigmoid": {}, "test_sigmoid_example": {},
	// Slice
	"test_slice": {}, "test_slice_default_axes": {}, "test_slice_default_steps": {}, "test_slice_end_out_of_bounds": {},
	"test_slice_neg": {}, "test_slice_neg_steps": {}, "test_slice_negative_axes": {}, "test_slice_start_out_of_bounds": {},
	// Softmax
	"test_softmax_axis_0": {}, "test_softmax_axis_1": {}, "test_softmax_axis_2": {}, "test_softmax_default_axis": {},
	"test_softmax_example": {}, "test_softmax_large_number": {}, "test_softmax_negative_axis": {},
	// Split
	"test_split_equal_parts_1d": {}, "test_split_equal_parts_2d": {}, "test_split_equal_parts_default_axis": {},
	"test_split_variable_parts_1d": {}, "test_split_variable_parts_2d": {}, "test_split_variable_parts_default_axis": {},
	"test_split_zero_size_splits": {},
	// Sqrt
	"test_sqrt": {}, "test_sqrt_example": {},
	// Squeeze
	"test_squeeze": {}, "test_squeeze_negative_axes": {},
	// Sub
	"test_sub": {}, "test_sub_bcast": {}, "test_sub_example": {},
	// Sum
	"test_sum_example": {}, "test_sum_one_input": {}, "test_sum_two_inputs": {},
	// Tanh
	"test_tanh": {}, "test_tanh_example": {},
	// TopK
	"test_top_k": {}, "test_top_k_negative_axis": {}, "test_top_k_smallest": {},
	// Transpose
	"test_transpose_all_permutations_0": {}, "test_transpose_all_permutations_1": {}, "test_transpose_all_permutations_2": {},
	"test_transpose_all_permutations_3": {}, "test_transpose_all_permutations_4": {}, "test_transpose_all_permutations_5": {},
	"test_transpose_default": {},
	// Unsqueeze
	"test_unsqueeze_axis_0": {}, "test_unsqueeze_axis_1": {}, "test_unsqueeze_axis_2": {}, "test_unsqueeze_axis_3": {},
	"test_unsqueeze_negative_axes": {}, "test_unsqueeze_three_axes": {}, "test_unsqueeze_two_axes": {},
	"test_unsqueeze_unsorted_axes": {},
	// Upsample
	"test_upsample_nearest": {},
	// ScatterND, ConvTranspose (ops_scatter.go, ops_convtranspose.go; 3-D ConvTranspose is not supported)
	"test_scatternd": {}, "test_scatternd_add": {}, "test_scatternd_multiply": {},
	"test_convtranspose": {}, "test_convtranspose_1d": {}, "test_convtranspose_autopad_same": {},
	"test_convtranspose_dilations": {}, "test_convtranspose_kernel_shape": {}, "test_convtranspose_output_shape": {},
	"test_convtranspose_pad": {}, "test_convtranspose_pads": {}, "test_convtranspose_with_kernel": {},
}

// nodeSkip is a node test of a feature the engine deliberately does not
// support: loading it must fail with an error containing wantErr.
type nodeSkip struct {
	reason  string
	wantErr string
}

// nodeSkips lists node tests that the engine must reject at load time.
var nodeSkips = map[string]nodeSkip{
	"test_averagepool_1d_default":                                {"only 2-D (NCHW) pooling", `only 2-D pooling`},
	"test_averagepool_3d_default":                                {"only 2-D (NCHW) pooling", `only 2-D pooling`},
	"test_batchnorm_epsilon_training_mode":                       {"BatchNormalization training mode (running statistics outputs)", `training mode`},
	"test_batchnorm_example_training_mode":                       {"BatchNormalization training mode (running statistics outputs)", `training mode`},
	"test_cast_BFLOAT16_to_FLOAT":                                {"bfloat16 tensors", `is dtype(16)`},
	"test_cast_DOUBLE_to_FLOAT":                                  {"float64 graph inputs", `is float64`},
	"test_cast_DOUBLE_to_FLOAT16":                                {"float64 graph inputs", `is float64`},
	"test_cast_FLOAT16_to_DOUBLE":                                {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_cast_FLOAT16_to_FLOAT":                                 {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_cast_FLOAT_to_BFLOAT16":                                {"bfloat16 tensors", `cast to dtype(16) is not supported`},
	"test_cast_FLOAT_to_STRING":                                  {"string tensors", `unsupported data type string`},
	"test_cast_STRING_to_FLOAT":                                  {"string tensors", `unsupported data type string`},
	"test_castlike_BFLOAT16_to_FLOAT_expanded":                   {"bfloat16 tensors", `is dtype(16)`},
	"test_castlike_DOUBLE_to_FLOAT16_expanded":                   {"float64 graph inputs", `is float64`},
	"test_castlike_DOUBLE_to_FLOAT_expanded":                     {"float64 graph inputs", `is float64`},
	"test_castlike_FLOAT16_to_DOUBLE_expanded":                   {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_castlike_FLOAT16_to_FLOAT_expanded":                    {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_castlike_FLOAT_to_BFLOAT16_expanded":                   {"bfloat16 tensors", `is dtype(16)`},
	"test_castlike_FLOAT_to_DOUBLE_expanded":                     {"float64 graph inputs", `is float64`},
	"test_castlike_FLOAT_to_FLOAT16_expanded":                    {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_castlike_FLOAT_to_STRING_expanded":                     {"string tensors", `unsupported data type string`},
	"test_castlike_STRING_to_FLOAT_expanded":                     {"string tensors", `unsupported data type string`},
	"test_identity_opt":                                          {"optional types: the test data is not a TensorProto", `TensorProto`},
	"test_identity_sequence":                                     {"sequence types: the test data is not a TensorProto", `TensorProto`},
	"test_max_float16":                                           {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_max_float64":                                           {"float64 graph inputs", `is float64`},
	"test_mod_mixed_sign_float16":                                {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_mod_mixed_sign_float64":                                {"float64 graph inputs", `is float64`},
	"test_mod_uint64":                                            {"uint64 graph inputs (not exact in the float32 carrier)", `is uint64`},
	"test_max_uint64":                                            {"uint64 graph inputs", `is uint64`},
	"test_maxpool_1d_default":                                    {"only 2-D (NCHW) pooling", `only 2-D pooling`},
	"test_maxpool_3d_default":                                    {"only 2-D (NCHW) pooling", `only 2-D pooling`},
	"test_maxpool_with_argmax_2d_precomputed_pads":               {"MaxPool Indices output", `Indices output is not supported`},
	"test_maxpool_with_argmax_2d_precomputed_strides":            {"MaxPool Indices output", `Indices output is not supported`},
	"test_min_float16":                                           {"float16 graph inputs (float16 initializers are widened)", `is float16`},
	"test_min_float64":                                           {"float64 graph inputs", `is float64`},
	"test_min_uint64":                                            {"uint64 graph inputs", `is uint64`},
	"test_pow_types_float32_uint64":                              {"uint64 graph inputs", `is uint64`},
	"test_reduce_log_sum_exp_default_axes_keepdims_example":      {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_default_axes_keepdims_random":       {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_do_not_keepdims_example":            {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_do_not_keepdims_random":             {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_keepdims_example":                   {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_keepdims_random":                    {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_negative_axes_keepdims_example":     {"float64 graph inputs", `is float64`},
	"test_reduce_log_sum_exp_negative_axes_keepdims_random":      {"float64 graph inputs", `is float64`},
	"test_resize_downsample_scales_cubic":                        {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_downsample_scales_cubic_A_n0p5_exclude_outside": {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_downsample_scales_cubic_align_corners":          {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_downsample_sizes_cubic":                         {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_tf_crop_and_resize":                             {"tf_crop_and_resize Resize (needs roi)", `"tf_crop_and_resize" is not supported`},
	"test_resize_upsample_scales_cubic":                          {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_upsample_scales_cubic_A_n0p5_exclude_outside":   {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_upsample_scales_cubic_align_corners":            {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_upsample_scales_cubic_asymmetric":               {"cubic Resize", `mode "cubic" is not supported`},
	"test_resize_upsample_sizes_cubic":                           {"cubic Resize", `mode "cubic" is not supported`},
	"test_where_example":                                         {"bool graph inputs (Where is checked on a computed condition in ops_extra_golden.json)", `is bool`},
	"test_where_long_example":                                    {"bool graph inputs (Where is checked on a computed condition in ops_extra_golden.json)", `is bool`},
}

// constPositions names, per op type, float inputs that a node test feeds as
// graph inputs although the engine needs them at compile time (they set
// output shapes or index tables); the runner binds them as initializers.
// Integer inputs at positions ≥ 1 (K, pads, shape, axes, starts, …) are
// always bound that way: the engine supports static shapes only, and
// binding the test's data as constants is exactly what an exporter with
// fixed shapes produces.
//
// Conv weights and BatchNormalization statistics are initializers in every
// real model (Conv packs its weights at compile time); the node tests feed
// them as inputs.
var constPositions = map[string][]int{
	"Resize":             {1, 2},
	"Upsample":           {1},
	"Pad":                {2},
	"Conv":               {1, 2},
	"BatchNormalization": {1, 2, 3, 4},
	"ConstantOfShape":    {0},
}

// dataInputOps are ops whose integer inputs are data rather than shapes,
// fed at run time like the engine's users do.
var dataInputOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true, "Max": true, "Min": true, "Sum": true,
	"Equal": true, "Greater": true, "Less": true, "GreaterOrEqual": true, "LessOrEqual": true,
	"Where": true, "Concat": true, "ScatterND": true,
}

type nodeData struct {
	in, out []*onnx.Tensor
}

func readNodeCase(dir string) (*onnx.Model, []nodeData, error) {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nil, nil, err
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	sort.Strings(sets)
	var data []nodeData
	for _, s := range sets {
		var d nodeData
		for _, kind := range []string{"input", "output"} {
			for i := 0; ; i++ {
				p := filepath.Join(s, fmt.Sprintf("%s_%d.pb", kind, i))
				b, err := os.ReadFile(p)
				if os.IsNotExist(err) {
					break
				}
				if err != nil {
					return nil, nil, err
				}
				t, err := onnx.DecodeTensor(b)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %w", p, err)
				}
				if kind == "input" {
					d.in = append(d.in, t)
				} else {
					d.out = append(d.out, t)
				}
			}
		}
		data = append(data, d)
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("%s: no test_data_set_*", dir)
	}
	return m, data, nil
}

// bindConsts returns a copy of m whose shape-like graph inputs are
// initializers holding d's values, and the indices of the inputs left.
func bindConsts(m *onnx.Model, d nodeData) (*onnx.Model, []int, error) {
	g := m.Graph
	pos := map[string]map[int]bool{} // input name → positions it is consumed at
	ops := map[string][]string{}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if pos[in] == nil {
				pos[in] = map[int]bool{}
			}
			pos[in][i] = true
			ops[in] = append(ops[in], n.OpType)
		}
	}
	var inputs []onnx.ValueInfo
	var inits []*onnx.Tensor
	var left []int
	var runtime []onnx.ValueInfo
	for _, in := range g.Inputs {
		if g.Initializer(in.Name) == nil {
			runtime = append(runtime, in)
		}
	}
	if len(runtime) != len(d.in) {
		return nil, nil, fmt.Errorf("model has %d runtime inputs, test data %d", len(runtime), len(d.in))
	}
	for i, in := range runtime {
		bind := !pos[in.Name][0] && len(pos[in.Name]) > 0 && d.in[i].DataType.IsInteger()
		for _, op := range ops[in.Name] {
			if dataInputOps[op] {
				bind = false
			}
		}
		for _, op := range ops[in.Name] {
			for _, p := range constPositions[op] {
				if pos[in.Name][p] {
					bind = true
				}
			}
		}
		if bind {
			t := *d.in[i]
			t.Name = in.Name
			inits = append(inits, &t)
			continue
		}
		inputs = append(inputs, in)
		left = append(left, i)
	}
	c := *m
	c.Graph.Inputs = inputs
	c.Graph.Initializers = append(append([]*onnx.Tensor(nil), g.Initializers...), inits...)
	return &c, left, nil
}

func tensorValues(t *onnx.Tensor) []float64 {
	var v []float64
	switch {
	case t.Floats != nil:
		for _, x := range t.Floats {
			v = append(v, float64(x))
		}
	case t.Doubles != nil:
		v = t.Doubles
	default:
		for _, x := range t.Ints {
			v = append(v, float64(x))
		}
	}
	return v
}

// runNodeCaseWith loads and runs one node test with opt and the case's
// settings, and checks every output of every data set.
func runNodeCaseWith(dir string, c nodeCase, opt Options) error {
	tol := c.tol
	m, data, err := readNodeCase(dir)
	if err != nil {
		return err
	}
	if tol == 0 {
		tol = 1e-5
	}
	for di, d := range data {
		bm, left, err := bindConsts(m, d)
		if err != nil {
			return err
		}

		s, err := NewSession(bm, opt)
		if err != nil {
			return err
		}
		defer s.Close()
		var ins, outs [][]float32
		for _, i := range left {
			t := d.in[i]
			switch {
			case t.DataType == onnx.Float:
				ins = append(ins, t.Floats)
			case t.DataType.IsInteger():
				f := make([]float32, len(t.Ints))
				for k, v := range t.Ints {
					if v >= 1<<24 || v <= -1<<24 {
						return fmt.Errorf("input %d: integer %d not exact in float32", i, v)
					}
					f[k] = float32(v)
				}
				ins = append(ins, f)
			default:
				return fmt.Errorf("input %d is %s", i, t.DataType)
			}
		}
		if len(s.Outputs()) != len(d.out) {
			return fmt.Errorf("session has %d outputs, test data %d", len(s.Outputs()), len(d.out))
		}
		for i, o := range s.Outputs() {
			want := d.out[i]
			if len(o.Shape) != len(want.Dims) {
				return fmt.Errorf("data set %d: output %d shape %v, want %v", di, i, o.Shape, want.Dims)
			}
			for j := range o.Shape {
				if int64(o.Shape[j]) != want.Dims[j] {
					return fmt.Errorf("data set %d: output %d shape %v, want %v", di, i, o.Shape, want.Dims)
				}
			}
			outs = append(outs, make([]float32, o.Size()))
		}
		if err := s.Run(ins, outs); err != nil {
			return err
		}
		for i, want := range d.out {
			exact := want.DataType.IsInteger()
			for j, w := range tensorValues(want) {
				g := float64(outs[i][j])
				if math.IsNaN(w) && math.IsNaN(g) {
					continue
				}
				if exact && g != w || !exact && !(math.Abs(g-w) <= tol*(1+math.Abs(w))) {
					return fmt.Errorf("data set %d: output %d (%s) element %d: got %g, want %g (tol %g)", di, i, want.DataType, j, g, w, tol)
				}
			}
		}
	}
	return nil
}

func needNodeData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(nodeDataDir); err != nil {
		testenv.SkipOrFail(t, "ONNX node tests not installed (apt-get install libonnx-testdata): %v", err)
	}
}

// TestONNXNode runs every case of nodeCases with one and two threads.
func TestONNXNode(t *testing.T) {
	needNodeData(t)
	names := make([]string, 0, len(nodeCases))
	for n := range nodeCases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := nodeCases[name]
		t.Run(name, func(t *testing.T) {
			for _, opt := range []Options{{Threads: 1}, {Threads: 2}} {
				if err := runNodeCaseWith(filepath.Join(nodeDataDir, name), c, opt); err != nil {
					t.Fatalf("threads %d: %v", opt.Threads, err)
				}
			}
		})
	}
}

// TestONNXNodeSkips checks that the unsupported cases fail to load with a
// clear error rather than running wrongly.
func TestONNXNodeSkips(t *testing.T) {
	needNodeData(t)
	for name, sk := range nodeSkips {
		t.Run(name, func(t *testing.T) {
			err := runNodeCaseWith(filepath.Join(nodeDataDir, name), nodeCase{}, Options{Threads: 1})
			if err == nil || !strings.Contains(err.Error(), sk.wantErr) {
				t.Fatalf("want an error containing %q (%s), got %v", sk.wantErr, sk.reason, err)
			}
		})
	}
}

// TestONNXNodeExplore (ONNX_NODE_EXPLORE=1) runs every installed node test
// whose ops are all supported and prints one line per case.
func TestONNXNodeExplore(t *testing.T) {
	if os.Getenv("ONNX_NODE_EXPLORE") == "" {
		t.Skip("set ONNX_NODE_EXPLORE=1")
	}
	needNodeData(t)
	dirs, _ := filepath.Glob(filepath.Join(nodeDataDir, "test_*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			fmt.Printf("LOADERR %s %v\n", name, err)
			continue
		}
		var types []string
		supported := true
		for _, n := range m.Graph.Nodes {
			types = append(types, n.OpType)
			if _, ok := ops[n.OpType]; !ok {
				supported = false
			}
		}
		if !supported {
			continue
		}
		status := "PASS"
		c, listed := nodeCases[name]
		if err := runNodeCaseWith(dir, c, Options{Threads: 1}); err != nil {
			status = "FAIL " + err.Error()
		}
		_, skipped := nodeSkips[name]
		fmt.Printf("%s listed=%v skipped=%v %v opset=%d: %s\n", name, listed, skipped, types, m.Opset(), status)
	}
}

// FuzzCompileModel: a decodable model either fails to compile with an
// error or compiles and runs (on zero inputs) without panicking; seeded
// with node-test models of the ops that validate attributes and shapes.
func FuzzCompileModel(f *testing.F) {
	for _, c := range []string{"test_gemm_all_attributes", "test_matmul_4d", "test_softmax_axis_1", "test_reduce_mean_keepdims_example",
		"test_top_k", "test_argmax_keepdims_random", "test_clip", "test_expand_dim_changed", "test_constant_pad", "test_reflect_pad",
		"test_resize_upsample_scales_linear", "test_transpose_all_permutations_3", "test_slice_neg_steps", "test_max_example"} {
		if b, err := os.ReadFile(filepath.Join(nodeDataDir, c, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Decode(data, "")
		if err != nil {
			return
		}
		s, err := NewSession(m, Options{Threads: 1})
		if err != nil {
			return
		}
		defer s.Close()
		var ins, outs [][]float32
		total := 0
		for _, in := range s.Inputs() {
			total += in.Size()
			ins = append(ins, make([]float32, in.Size()))
		}
		for _, o := range s.Outputs() {
			total += o.Size()
			outs = append(outs, make([]float32, o.Size()))
		}
		if total > 1<<20 {
			return
		}
		if err := s.Run(ins, outs); err != nil {
			t.Fatal(err)
		}
	})
}
