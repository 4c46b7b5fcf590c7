using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MlPlatform.OnnxWriter.Tests;

/// <summary>Models written by <see cref="OnnxGraphBuilder"/> must load and compute correctly in ONNX Runtime.</summary>
public sealed class OnnxGraphBuilderRuntimeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void ToModelBytes_AddOfDynamicBatchInputs_SumsForAnyBatchSize(int batch)
    {
        var model = new OnnxGraphBuilder("add")
            .Input("a", OnnxElementType.Float, -1, 3)
            .Input("b", OnnxElementType.Float, -1, 3)
            .Output("sum", OnnxElementType.Float, -1, 3)
            .Node("Add", ["a", "b"], ["sum"])
            .ToModelBytes();
        var a = new float[batch * 3];
        var b = new float[batch * 3];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = i * 0.5f;
            b[i] = 100 - i;
        }

        using var runner = new OrtRunner(model).WithFloats("a", a, batch, 3).WithFloats("b", b, batch, 3);
        using var results = runner.Run("sum");

        Assert.Equal([batch, 3], results[0].GetTensorTypeAndShape().Shape);
        var sum = results[0].GetTensorDataAsSpan<float>().ToArray();
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i] + b[i], sum[i]);
        }
    }

    [Fact]
    public void Input_DynamicDimensions_AreSymbolicInModelMetadata()
    {
        var model = new OnnxGraphBuilder("dims")
            .Input("x", OnnxElementType.Float, -1, 4, -1)
            .Output("y", OnnxElementType.Float, -1, 4, -1)
            .Node("Identity", ["x"], ["y"])
            .ToModelBytes();

        using var runner = new OrtRunner(model);
        var input = runner.Session.InputMetadata["x"];

        Assert.Equal([-1, 4, -1], input.Dimensions);
        Assert.Equal(["batch", "", "d2"], input.SymbolicDimensions);
        Assert.Equal(TensorElementType.Float, input.ElementDataType);
    }

    [Fact]
    public void ToModelBytes_ConvReluMaxPoolFlattenGemmSoftmax_MatchesReferenceForward()
    {
        const int Batch = 2;
        var convWeights = Sequence(2 * 1 * 3 * 3, 0.37f);
        var convBias = new[] { 0.1f, -0.2f };
        var gemmWeights = Sequence(3 * 18, 0.11f);
        var gemmBias = new[] { 0.05f, 0f, -0.05f };
        var input = Sequence(Batch * 36, 0.73f);

        var model = new OnnxGraphBuilder("cnn")
            .Input("image", OnnxElementType.Float, -1, 1, 6, 6)
            .Output("probabilities", OnnxElementType.Float, -1, 3)
            .Initializer("conv_w", [2, 1, 3, 3], convWeights)
            .Initializer("conv_b", [2], convBias)
            .Initializer("fc_w", [3, 18], gemmWeights)
            .Initializer("fc_b", [3], gemmBias)
            .Node("Conv", ["image", "conv_w", "conv_b"], ["conv"],
                OnnxAttribute.Ints("kernel_shape", 3, 3), OnnxAttribute.Ints("pads", 1, 1, 1, 1), OnnxAttribute.Ints("strides", 1, 1))
            .Node("Relu", ["conv"], ["relu"])
            .Node("MaxPool", ["relu"], ["pool"], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2))
            .Node("Flatten", ["pool"], ["flat"], OnnxAttribute.Int("axis", 1))
            .Node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], OnnxAttribute.Int("transB", 1), OnnxAttribute.Float("alpha", 1f))
            .Node("Softmax", ["logits"], ["probabilities"], OnnxAttribute.Int("axis", 1))
            .ToModelBytes();

        using var runner = new OrtRunner(model).WithFloats("image", input, Batch, 1, 6, 6);
        using var results = runner.Run("probabilities");
        var actual = results[0].GetTensorDataAsSpan<float>().ToArray();

        var expected = ReferenceForward(input, Batch, convWeights, convBias, gemmWeights, gemmBias);
        Assert.Equal([Batch, 3], results[0].GetTensorTypeAndShape().Shape);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-5f);
        }

        // Distinct rows show the weights were read correctly rather than, say, as zeros.
        Assert.NotEqual(actual[0], actual[1], 1e-3f);
    }

    [Fact]
    public void ToModelBytes_IdentityOverStringInput_ReturnsSameStrings()
    {
        string[] values = ["zero", "één", string.Empty, "数字"];
        var model = new OnnxGraphBuilder("strings")
            .Input("text", OnnxElementType.String, -1)
            .Output("same", OnnxElementType.String, -1)
            .Node("Identity", ["text"], ["same"])
            .ToModelBytes();

        var tensor = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, [values.Length]);
        for (var i = 0; i < values.Length; i++)
        {
            tensor.StringTensorSetElementAt(values[i].AsSpan(), i);
        }

        using var runner = new OrtRunner(model).With("text", tensor);
        using var results = runner.Run("same");

        Assert.Equal(values, results[0].GetStringTensorAsArray());
    }

    [Fact]
    public void ToModelBytes_CastFromFloat16_ProducesFloats()
    {
        float[] expected = [0.5f, -2.25f, 1024f, 65504f, 0f];
        var model = new OnnxGraphBuilder("cast")
            .Input("half", OnnxElementType.Float16, -1)
            .Output("single", OnnxElementType.Float, -1)
            .Node("Cast", ["half"], ["single"], OnnxAttribute.Int("to", (long)OnnxElementType.Float))
            .ToModelBytes();
        var halves = Array.ConvertAll(expected, value => (Float16)value);

        using var runner = new OrtRunner(model).With("half", OrtValue.CreateTensorValueFromMemory(halves, [halves.Length]));
        using var results = runner.Run("single");

        Assert.Equal(TensorElementType.Float, results[0].GetTensorTypeAndShape().ElementDataType);
        Assert.Equal(expected, results[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData(-7L)]
    [InlineData(1L)]
    public void ToModelBytes_Int64ScalarInputPlusInt64Initializer_ReturnsScalarSum(long value)
    {
        // Larger than 32 bits, so a truncated varint or int32 encoding would show.
        const long Offset = 5_000_000_000L;
        var model = new OnnxGraphBuilder("scalar")
            .Input("n", OnnxElementType.Int64)
            .Output("total", OnnxElementType.Int64)
            .Initializer("offset", [], [Offset])
            .Node("Add", ["n", "offset"], ["total"])
            .ToModelBytes();

        using var runner = new OrtRunner(model).With("n", OrtValue.CreateTensorValueFromMemory(new[] { value }, []));
        Assert.Empty(runner.Session.InputMetadata["n"].Dimensions);
        using var results = runner.Run("total");

        Assert.Empty(results[0].GetTensorTypeAndShape().Shape);
        Assert.Equal(value + Offset, results[0].GetTensorDataAsSpan<long>()[0]);
    }

    [Fact]
    public void ToModelBytes_Int64InitializerWithShape_KeepsValuesInOrder()
    {
        long[] table = [-1, 0, 300, long.MaxValue, long.MinValue, 42];
        var model = new OnnxGraphBuilder("table")
            .Input("x", OnnxElementType.Int64, 2, 3)
            .Output("y", OnnxElementType.Int64, 2, 3)
            .Initializer("zero", [2, 3], [0, 0, 0, 0, 0, 0])
            .Initializer("table", [2, 3], table)
            .Node("Mul", ["x", "zero"], ["cleared"])
            .Node("Add", ["cleared", "table"], ["y"])
            .ToModelBytes();

        using var runner = new OrtRunner(model).With("x", OrtValue.CreateTensorValueFromMemory(new long[] { 9, 9, 9, 9, 9, 9 }, [2, 3]));
        using var results = runner.Run("y");

        Assert.Equal(table, results[0].GetTensorDataAsSpan<long>().ToArray());
    }

    [Fact]
    public void Node_ConstantWithEachAttributeKind_RuntimeSeesTheValues()
    {
        var model = new OnnxGraphBuilder("constants")
            .Output("f", OnnxElementType.Float)
            .Output("fs", OnnxElementType.Float, 3)
            .Output("i", OnnxElementType.Int64)
            .Output("is", OnnxElementType.Int64, 4)
            .Output("s", OnnxElementType.String)
            .Node("Constant", [], ["f"], OnnxAttribute.Float("value_float", -1.5f))
            .Node("Constant", [], ["fs"], OnnxAttribute.Floats("value_floats", 0.25f, float.MaxValue, -3f))
            .Node("Constant", [], ["i"], OnnxAttribute.Int("value_int", -9_000_000_000L))
            .Node("Constant", [], ["is"], OnnxAttribute.Ints("value_ints", 1, -1, 0, long.MaxValue))
            .Node("Constant", [], ["s"], OnnxAttribute.String("value_string", "héllo"))
            .ToModelBytes();

        using var runner = new OrtRunner(model);
        using var results = runner.Run("f", "fs", "i", "is", "s");

        Assert.Equal(-1.5f, results[0].GetTensorDataAsSpan<float>()[0]);
        Assert.Equal([0.25f, float.MaxValue, -3f], results[1].GetTensorDataAsSpan<float>().ToArray());
        Assert.Equal(-9_000_000_000L, results[2].GetTensorDataAsSpan<long>()[0]);
        Assert.Equal([1L, -1L, 0L, long.MaxValue], results[3].GetTensorDataAsSpan<long>().ToArray());
        Assert.Equal(["héllo"], results[4].GetStringTensorAsArray());
    }

    [Fact]
    public void Save_DirectoryMissing_CreatesItAndWritesLoadableModel()
    {
        var root = Path.Combine(Path.GetTempPath(), "onnxwriter-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(root, "nested", "1", "model.onnx");
        try
        {
            new OnnxGraphBuilder("saved")
                .Input("x", OnnxElementType.Float, -1)
                .Output("y", OnnxElementType.Float, -1)
                .Node("Neg", ["x"], ["y"])
                .Save(path);

            using var session = new InferenceSession(path);
            Assert.Equal(["x"], session.InputMetadata.Keys);
            Assert.Equal("saved", session.ModelMetadata.GraphName);
            Assert.Equal("MlPlatform", session.ModelMetadata.ProducerName);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static float[] Sequence(int count, float step)
    {
        // Deterministic values in [-1, 1] with varied signs, so every weight matters.
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = MathF.Sin((i + 1) * step);
        }

        return values;
    }

    private static float[] ReferenceForward(float[] input, int batch, float[] convW, float[] convB, float[] fcW, float[] fcB)
    {
        var result = new float[batch * 3];
        for (var n = 0; n < batch; n++)
        {
            var flat = new float[18];
            for (var c = 0; c < 2; c++)
            {
                var conv = new float[36];
                for (var y = 0; y < 6; y++)
                {
                    for (var x = 0; x < 6; x++)
                    {
                        var sum = convB[c];
                        for (var ky = 0; ky < 3; ky++)
                        {
                            for (var kx = 0; kx < 3; kx++)
                            {
                                int iy = y + ky - 1, ix = x + kx - 1;
                                if (iy is >= 0 and < 6 && ix is >= 0 and < 6)
                                {
                                    sum += convW[(c * 9) + (ky * 3) + kx] * input[(n * 36) + (iy * 6) + ix];
                                }
                            }
                        }

                        conv[(y * 6) + x] = MathF.Max(sum, 0f);
                    }
                }

                for (var py = 0; py < 3; py++)
                {
                    for (var px = 0; px < 3; px++)
                    {
                        var max = float.NegativeInfinity;
                        for (var dy = 0; dy < 2; dy++)
                        {
                            for (var dx = 0; dx < 2; dx++)
                            {
                                max = MathF.Max(max, conv[(((py * 2) + dy) * 6) + (px * 2) + dx]);
                            }
                        }

                        flat[(c * 9) + (py * 3) + px] = max;
                    }
                }
            }

            var logits = new float[3];
            for (var o = 0; o < 3; o++)
            {
                logits[o] = fcB[o];
                for (var k = 0; k < 18; k++)
                {
                    logits[o] += fcW[(o * 18) + k] * flat[k];
                }
            }

            var peak = MathF.Max(logits[0], MathF.Max(logits[1], logits[2]));
            var total = 0f;
            for (var o = 0; o < 3; o++)
            {
                logits[o] = MathF.Exp(logits[o] - peak);
                total += logits[o];
            }

            for (var o = 0; o < 3; o++)
            {
                result[(n * 3) + o] = logits[o] / total;
            }
        }

        return result;
    }
}
