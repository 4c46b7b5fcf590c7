using System.Text.Json;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using static MlPlatform.Contracts.Tests.TestData;

namespace MlPlatform.Contracts.Tests;

public sealed class ReadTests
{
    [Fact]
    public void ReadRequest_SpecExample_Parsed()
    {
        // The inference request example of the Open Inference Protocol's REST section, typed in by hand.
        // The spec gives input1 shape [ 3 ] with one element; it is corrected to [ 1 ] here, and the
        // verbatim version is the next test.
        const string Json = """
            {
              "id" : "42",
              "inputs" : [
                {
                  "name" : "input0",
                  "shape" : [ 2, 2 ],
                  "datatype" : "UINT32",
                  "data" : [ 1, 2, 3, 4 ]
                },
                {
                  "name" : "input1",
                  "shape" : [ 1 ],
                  "datatype" : "BOOL",
                  "data" : [ true ]
                }
              ],
              "outputs" : [
                {
                  "name" : "output0"
                }
              ]
            }
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        Assert.Equal("42", request.Id);
        Assert.Null(request.Parameters);
        Assert.Equal(2, request.Inputs.Count);
        var input0 = request.Inputs[0];
        Assert.Equal("input0", input0.Name);
        Assert.Equal(TensorDataType.UInt32, input0.DataType);
        Assert.Equal([2L, 2L], input0.Shape);
        Assert.Equal(4, input0.ElementCount);
        Assert.Equal(new byte[] { 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0 }, input0.Data.ToArray());
        Assert.Null(input0.Parameters);
        var input1 = request.Inputs[1];
        Assert.Equal("input1", input1.Name);
        Assert.Equal(TensorDataType.Bool, input1.DataType);
        Assert.Equal(new byte[] { 1 }, input1.Data.ToArray());
        Assert.NotNull(request.Outputs);
        var output = Assert.Single(request.Outputs);
        Assert.Equal("output0", output.Name);
        Assert.Null(output.Parameters);
        Assert.Null(output.BinaryData);
    }

    [Fact]
    public void ReadRequest_SpecExampleVerbatim_RejectsItsElementCount()
    {
        const string Json = """
            {"id" : "42", "inputs" : [
              {"name" : "input0", "shape" : [ 2, 2 ], "datatype" : "UINT32", "data" : [ 1, 2, 3, 4 ]},
              {"name" : "input1", "shape" : [ 3 ], "datatype" : "BOOL", "data" : [ true ]}],
             "outputs" : [{"name" : "output0"}]}
            """;

        var exception = Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadRequest(Utf8(Json), null));

        Assert.Equal("inputs[1].data: expected 3 elements for shape [3], got 1", exception.Message);
    }

    [Fact]
    public void ReadRequest_BinaryExtensionSpecExample_Parsed()
    {
        // The binary tensor data extension's request example: input0 binary, input1 JSON, and
        // model_name, which a request may carry and the codec ignores.
        const string Json = """
            {
              "model_name" : "mymodel",
              "inputs" : [
                {
                  "name" : "input0",
                  "shape" : [ 2, 2 ],
                  "datatype" : "UINT32",
                  "parameters" : {
                    "binary_data_size" : 16
                  }
                },
                {
                  "name" : "input1",
                  "shape" : [ 3 ],
                  "datatype" : "BOOL",
                  "data" : [ true, false, true ]
                }
              ],
              "outputs" : [
                {
                  "name" : "output0",
                  "parameters" : {
                    "binary_data" : true
                  }
                },
                {
                  "name" : "output1"
                }
              ]
            }
            """;
        var input0 = Le<uint>(10, 20, 30, 40);
        var body = BinaryBody(Json, out var headerLength, input0);

        using var request = InferenceCodec.ReadRequest(body, headerLength);

        Assert.Equal(input0, request.Inputs[0].Data.ToArray());
        Assert.Null(request.Inputs[0].Parameters);
        Assert.Equal(new byte[] { 1, 0, 1 }, request.Inputs[1].Data.ToArray());
        Assert.NotNull(request.Outputs);
        Assert.True(request.WantsBinary("output0"));
        Assert.False(request.WantsBinary("output1"));
        Assert.Equal(true, request.Outputs[0].BinaryData);
        Assert.Null(request.Outputs[1].BinaryData);
    }

    [Fact]
    public void ReadResponse_SpecExample_Parsed()
    {
        // The spec's response example, with the comma it lacks after "id" and the model_name it requires.
        const string Json = """
            {
              "model_name" : "mymodel",
              "id" : "42",
              "outputs" : [
                {
                  "name" : "output0",
                  "shape" : [ 3, 2 ],
                  "datatype"  : "FP32",
                  "data" : [ 1.0, 1.1, 2.0, 2.1, 3.0, 3.1 ]
                }
              ]
            }
            """;

        using var response = InferenceCodec.ReadResponse(Utf8(Json), null);

        Assert.Equal("mymodel", response.ModelName);
        Assert.Null(response.ModelVersion);
        Assert.Equal("42", response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Equal(Le(1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f), output.Data.ToArray());
    }

    [Theory]
    [InlineData("[1, 2, 3, 4, 5, 6]")]
    [InlineData("[[1, 2, 3], [4, 5, 6]]")]
    [InlineData("[[[1], [2], [3]], [[4], [5], [6]]]")]
    [InlineData("[[1, 2], [3, [4, 5]], 6]")]
    [InlineData("[[], [1, 2, 3, 4, 5, 6], []]")]
    public void ReadRequest_NestedOrFlatData_FlattenedRowMajor(string data)
    {
        var json = $$"""{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "INT16", "data": {{data}}}]}""";

        using var request = InferenceCodec.ReadRequest(Utf8(json), null);

        Assert.Equal(Le<short>(1, 2, 3, 4, 5, 6), request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_DataBeforeShapeAndDatatype_Parsed()
    {
        const string Json = """
            {"inputs": [
              {"data": [[1.5, -2], ["NaN", "Infinity"]], "name": "x", "datatype": "FP64", "shape": [2, 2]},
              {"data": ["a", "b"], "shape": [2], "name": "y", "datatype": "BYTES"},
              {"datatype": "INT8", "data": [-128, 127], "name": "z", "shape": [2]}
            ]}
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        Assert.Equal(Le(1.5, -2.0, double.NaN, double.PositiveInfinity), request.Inputs[0].Data.ToArray());
        Assert.Equal(Strings("a", "b"), request.Inputs[1].Data.ToArray());
        Assert.Equal(Le<sbyte>(-128, 127), request.Inputs[2].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_UnknownFieldsAndEscapedNames_UnknownSkippedEscapesDecoded()
    {
        const string Json = """
            {"model": {"deep": [1, {"x": 2}]}, "data_url": null,
             "inp\u0075ts": [{"n\u0061me": "x\u00e9", "extra": [[[]]], "shape": [1], "datatype": "FP\u0033\u0032", "data": [0.25]}]}
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        var input = Assert.Single(request.Inputs);
        Assert.Equal("x\u00e9", input.Name);
        Assert.Equal(TensorDataType.Fp32, input.DataType);
        Assert.Equal(Le(0.25f), input.Data.ToArray());
    }

    [Fact]
    public void ReadRequest_JsonNumberForms_ParsedExactly()
    {
        const string Json = """
            {"inputs": [
              {"name": "u", "shape": [3], "datatype": "UINT64", "data": [18446744073709551615, 0, -0]},
              {"name": "i", "shape": [2], "datatype": "INT64", "data": [-9223372036854775808, 9223372036854775807]},
              {"name": "h", "shape": [4], "datatype": "FP16", "data": [65504, -65504, 1e-8, "-Infinity"]},
              {"name": "f", "shape": [3], "datatype": "FP32", "data": [1E2, -3.5e-1, 1e-50]}
            ]}
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        Assert.Equal(Le(ulong.MaxValue, 0UL, 0UL), request.Inputs[0].Data.ToArray());
        Assert.Equal(Le(long.MinValue, long.MaxValue), request.Inputs[1].Data.ToArray());
        Assert.Equal(Le(Half.MaxValue, Half.MinValue, (Half)0, Half.NegativeInfinity), request.Inputs[2].Data.ToArray());
        Assert.Equal(Le(100f, -0.35f, 0f), request.Inputs[3].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_BytesStrings_Utf8OfTheUnescapedText()
    {
        const string Json = """
            {"inputs": [{"name": "s", "shape": [4], "datatype": "BYTES",
              "data": ["plain", "\u00e9\ud83d\ude00", "tab\there \"q\" \\", ""]}]}
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        Assert.Equal(Strings("plain", "\u00e9\U0001F600", "tab\there \"q\" \\", ""), request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_TensorParameters_BinaryDataSizeRemovedOthersKept()
    {
        const string Json = """
            {"inputs": [{"name": "x", "shape": [2], "datatype": "UINT8",
              "parameters": {"content_type": "np", "binary_data_size": 2, "shm": {"k": [1, 2]}}}]}
            """;
        var body = BinaryBody(Json, out var headerLength, [7, 9]);

        using var request = InferenceCodec.ReadRequest(body, headerLength);

        var parameters = request.Inputs[0].Parameters;
        Assert.NotNull(parameters);
        Assert.False(parameters.ContainsKey(ProtocolParameters.BinaryDataSize));
        Assert.Equal(2, parameters.Count);
        Assert.Equal("np", parameters["content_type"].GetString());
        Assert.Equal(2, parameters["shm"].GetProperty("k")[1].GetInt32());
    }

    [Fact]
    public void ReadRequest_ParametersAfterBodyIsOverwritten_StillReadable()
    {
        var body = Utf8("""
            {"parameters": {"p": "request"}, "inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1],
              "parameters": {"q": [1, 2]}}], "outputs": [{"name": "y", "parameters": {"binary_data": true}}]}
            """).ToArray();

        using var request = InferenceCodec.ReadRequest(body, null);
        Array.Fill(body, (byte)' ');

        Assert.Equal("request", request.Parameters!["p"].GetString());
        Assert.Equal(JsonValueKind.Array, request.Inputs[0].Parameters!["q"].ValueKind);
        Assert.Equal(2, request.Inputs[0].Parameters!["q"][1].GetInt32());
        Assert.True(request.WantsBinary("y"));
    }

    [Fact]
    public void ReadRequest_NullOptionalFields_TreatedAsAbsent()
    {
        const string Json = """
            {"id": null, "parameters": null, "outputs": null,
             "inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [1], "parameters": null}]}
            """;

        using var request = InferenceCodec.ReadRequest(Utf8(Json), null);

        Assert.Null(request.Id);
        Assert.Null(request.Parameters);
        Assert.Null(request.Outputs);
        Assert.Null(request.Inputs[0].Parameters);
    }

    [Fact]
    public void ReadRequest_EmptyInputs_NoTensors()
    {
        using var request = InferenceCodec.ReadRequest(Utf8("""{"inputs": []}"""), null);

        Assert.Empty(request.Inputs);
    }

    [Fact]
    public void ReadRequest_HeaderLengthOfWholeBody_JsonTensorsOnly()
    {
        var body = Utf8("""{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "data": [3]}]}""");

        using var request = InferenceCodec.ReadRequest(body, body.Length);

        Assert.Equal(new byte[] { 3 }, request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_BinaryBytesTensor_SliceValidated()
    {
        var strings = Strings("ab", "", "\u00ff");
        var body = BinaryBody(
            $$$"""{"inputs": [{"name": "s", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": {{{strings.Length}}}}}]}""",
            out var headerLength,
            strings);

        using var request = InferenceCodec.ReadRequest(body, headerLength);

        Assert.Equal(strings, request.Inputs[0].Data.ToArray());
    }

    [Fact]
    public void ReadRequest_ManyInputs_AllDistinctNamesAccepted()
    {
        var inputs = new string[40];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = $$"""{"name": "in{{i}}", "shape": [1], "datatype": "INT8", "data": [{{i}}]}""";
        }

        using var request = InferenceCodec.ReadRequest(Utf8($$"""{"inputs": [{{string.Join(",", inputs)}}]}"""), null);

        Assert.Equal(40, request.Inputs.Count);
        Assert.Equal("in39", request.Inputs[39].Name);
        Assert.Equal(39, request.Inputs[39].Data.Span[0]);
    }

    [Fact]
    public void ReadResponse_BinaryBody_OutputsSliced()
    {
        var values = Le(1.5f, 2.5f);
        var body = BinaryBody(
            """
            {"model_name": "m", "model_version": "2", "outputs": [
              {"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
              {"name": "b", "shape": [1], "datatype": "INT8", "data": [-1]}]}
            """,
            out var headerLength,
            values);

        using var response = InferenceCodec.ReadResponse(body, headerLength);

        Assert.Equal("2", response.ModelVersion);
        Assert.Equal(values, response.Outputs[0].Data.ToArray());
        Assert.Null(response.Outputs[0].Parameters);
        Assert.Equal(new byte[] { 0xFF }, response.Outputs[1].Data.ToArray());
    }
}
