using System.Text;
using MlPlatform.Contracts.Codec;
using MlPlatform.Contracts.Protocol;
using static MlPlatform.Contracts.Tests.TestData;

namespace MlPlatform.Contracts.Tests;

/// <summary>Every malformed body is an <see cref="InferenceProtocolException"/> that starts with the field at fault and leaks no buffer.</summary>
public sealed class BadInputTests
{
    private static InferenceProtocolException AssertRequestFails(ReadOnlyMemory<byte> body, int? headerLength, string field, string? fragment = null)
    {
        var exception = Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadRequest(body, headerLength));
        Assert.StartsWith(field + ": ", exception.Message);
        if (fragment is not null)
        {
            Assert.Contains(fragment, exception.Message);
        }

        // The same failure with a pool that counts: whatever was rented before it must be back.
        var pool = new CountingArrayPool();
        var again = Assert.Throws<InferenceProtocolException>(() => InferenceBodyReader.ReadRequest(body, headerLength, pool));
        Assert.Equal(exception.Message, again.Message);
        Assert.Equal(0, pool.Outstanding);
        return exception;
    }

    private static InferenceProtocolException AssertRequestFails(string json, string field, string? fragment = null) =>
        AssertRequestFails(Utf8(json), null, field, fragment);

    private static InferenceProtocolException AssertResponseFails(ReadOnlyMemory<byte> body, int? headerLength, string field, string? fragment = null)
    {
        var exception = Assert.Throws<InferenceProtocolException>(() => InferenceCodec.ReadResponse(body, headerLength));
        Assert.StartsWith(field + ": ", exception.Message);
        if (fragment is not null)
        {
            Assert.Contains(fragment, exception.Message);
        }

        var pool = new CountingArrayPool();
        Assert.Throws<InferenceProtocolException>(() => InferenceBodyReader.ReadResponse(body, headerLength, pool));
        Assert.Equal(0, pool.Outstanding);
        return exception;
    }

    private static string Request(string tensor) => $$"""{"inputs": [{{tensor}}]}""";

    [Theory]
    [InlineData("", "body")]
    [InlineData("   ", "body")]
    [InlineData("{", "body", "invalid JSON")]
    [InlineData("{\"inputs\": [", "inputs", "invalid JSON")]
    [InlineData("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1.0", "inputs[0].data", "invalid JSON")]
    [InlineData("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1.0}]}", "inputs[0].data", "invalid JSON")]
    [InlineData("{\"inputs\": [{\"name\": \"x\", \"shape\": [1,], \"datatype\": \"FP32\", \"data\": [1]}]}", "inputs[0].shape", "invalid JSON")]
    [InlineData("{\"inputs\": []} trailing", "body", "invalid JSON")]
    [InlineData("{\"inputs\": []}{}", "body", "invalid JSON")]
    [InlineData("{\"inputs\": [] /* comment */}", "body", "invalid JSON")]
    [InlineData("{\"inputs\": [], \"other\": [1,}", "body", "invalid JSON")]
    [InlineData("{\"inputs\": [{\"name\": \"x\", \"extra\": {\"a\" 1}}]}", "inputs[0]", "invalid JSON")]
    [InlineData("\uFEFF{\"inputs\": []}", "body", "invalid JSON")]
    [InlineData("{'inputs': []}", "body", "invalid JSON")]
    public void ReadRequest_InvalidOrTruncatedJson_Throws(string json, string field, string? fragment = null) =>
        AssertRequestFails(json, field, fragment);

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"inputs\": []}]")]
    [InlineData("\"inputs\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void ReadRequest_NotAnObject_Throws(string json) =>
        AssertRequestFails(json, "body", "expected a JSON object");

    [Theory]
    [InlineData("{}", "inputs", "required")]
    [InlineData("{\"id\": \"1\", \"outputs\": []}", "inputs", "required")]
    [InlineData("{\"inputs\": {}}", "inputs", "expected an array")]
    [InlineData("{\"inputs\": null}", "inputs", "expected an array")]
    [InlineData("{\"inputs\": [1]}", "inputs[0]", "expected a tensor object")]
    [InlineData("{\"inputs\": [[]]}", "inputs[0]", "expected a tensor object")]
    [InlineData("{\"inputs\": [], \"inputs\": []}", "inputs", "more than once")]
    [InlineData("{\"id\": \"a\", \"id\": \"b\", \"inputs\": []}", "id", "more than once")]
    [InlineData("{\"id\": 42, \"inputs\": []}", "id", "expected a string")]
    [InlineData("{\"id\": [\"a\"], \"inputs\": []}", "id", "expected a string")]
    [InlineData("{\"parameters\": [], \"inputs\": []}", "parameters", "expected an object")]
    [InlineData("{\"parameters\": 1, \"inputs\": []}", "parameters", "expected an object")]
    [InlineData("{\"outputs\": {}, \"inputs\": []}", "outputs", "expected an array")]
    [InlineData("{\"outputs\": [\"y\"], \"inputs\": []}", "outputs[0]", "expected an object")]
    [InlineData("{\"outputs\": [{}], \"inputs\": []}", "outputs[0].name", "required")]
    [InlineData("{\"outputs\": [{\"name\": 1}], \"inputs\": []}", "outputs[0].name", "expected a string")]
    [InlineData("{\"outputs\": [{\"name\": \"y\", \"parameters\": true}], \"inputs\": []}", "outputs[0].parameters", "expected an object")]
    [InlineData("{\"outputs\": [{\"name\": \"y\"}, {\"name\": \"y\"}], \"inputs\": []}", "outputs[1].name", "duplicate name 'y'")]
    public void ReadRequest_BadRequestStructure_Throws(string json, string field, string fragment) =>
        AssertRequestFails(json, field, fragment);

    [Theory]
    [InlineData("{\"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].name", "required")]
    [InlineData("{\"name\": \"x\", \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "required")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"data\": [1]}", "inputs[0].datatype", "required")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\"}", "inputs[0].data", "required")]
    [InlineData("{\"name\": \"\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].name", "must not be empty")]
    [InlineData("{\"name\": 5, \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].name", "expected a string")]
    [InlineData("{\"name\": null, \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].name", "expected a string")]
    [InlineData("{\"name\": \"x\", \"name\": \"y\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].name", "more than once")]
    [InlineData("{\"name\": \"x\", \"shape\": \"[1]\", \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "expected an array")]
    [InlineData("{\"name\": \"x\", \"shape\": [\"1\"], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "dimension 0")]
    [InlineData("{\"name\": \"x\", \"shape\": [[1]], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "dimension 0")]
    [InlineData("{\"name\": \"x\", \"shape\": [1, -1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "dimension 1 is -1")]
    [InlineData("{\"name\": \"x\", \"shape\": [1.5], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "dimension 0 is 1.5")]
    [InlineData("{\"name\": \"x\", \"shape\": [99999999999999999999], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "dimension 0")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].shape", "more than once")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": 8, \"data\": [1]}", "inputs[0].datatype", "expected a string")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"int8\", \"data\": [1]}", "inputs[0].datatype", "unknown datatype 'int8'")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FLOAT32_BUT_MUCH_LONGER_THAN_ANY_NAME\", \"data\": [1]}", "inputs[0].datatype", "unknown datatype")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"datatype\": \"INT8\", \"data\": [1]}", "inputs[0].datatype", "more than once")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": 1}", "inputs[0].data", "expected an array")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": null}", "inputs[0].data", "expected an array")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": {\"0\": 1}}", "inputs[0].data", "expected an array")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1], \"data\": [1]}", "inputs[0].data", "more than once")]
    [InlineData("{\"data\": \"abc\", \"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\"}", "inputs[0].data", "expected an array")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1], \"parameters\": []}", "inputs[0].parameters", "expected an object")]
    [InlineData("{\"name\": \"x\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1], \"parameters\": {}, \"parameters\": {}}", "inputs[0].parameters", "more than once")]
    public void ReadRequest_BadTensorStructure_Throws(string tensor, string field, string fragment) =>
        AssertRequestFails(Request(tensor), field, fragment);

    [Fact]
    public void ReadRequest_UnknownDatatype_MessageListsEveryDatatype()
    {
        var exception = AssertRequestFails(
            """{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}, {"name": "b", "shape": [1], "datatype": "FP33", "data": [1]}]}""",
            "inputs[1].datatype");

        Assert.Equal(
            "inputs[1].datatype: unknown datatype 'FP33'; expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES",
            exception.Message);
    }

    [Theory]
    [InlineData("[\"x\", \"x\"]", "inputs[1].name")]
    [InlineData("[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\", \"j\", \"k\", \"c\"]", "inputs[11].name")]
    public void ReadRequest_DuplicateInputNames_Throws(string namesJson, string field)
    {
        var names = System.Text.Json.JsonSerializer.Deserialize<string[]>(namesJson)!;
        var tensors = new string[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            tensors[i] = $$"""{"name": "{{names[i]}}", "shape": [1], "datatype": "FP32", "data": [{{i}}]}""";
        }

        AssertRequestFails($$"""{"inputs": [{{string.Join(", ", tensors)}}]}""", field, "duplicate name");
    }

    [Fact]
    public void ReadRequest_ElementCountMismatch_MessageGivesBothCounts()
    {
        var data = string.Join(", ", Enumerable.Repeat("0.5", 783));

        var exception = AssertRequestFails(Request($$"""{"name": "x", "shape": [1, 784], "datatype": "FP32", "data": [{{data}}]}"""), "inputs[0].data");

        Assert.Equal("inputs[0].data: expected 784 elements for shape [1, 784], got 783", exception.Message);
    }

    [Theory]
    [InlineData("INT32", "[1, 2, 3]", "got 3")]
    [InlineData("INT32", "[[1, 2], [3, 4], [5]]", "got 5")]
    [InlineData("BYTES", "[\"a\", \"b\", \"c\", \"d\", \"e\"]", "got 5")]
    [InlineData("BOOL", "[]", "got 0")]
    public void ReadRequest_ElementCountOtherThanShape_Throws(string dataType, string data, string fragment) =>
        AssertRequestFails(Request($$"""{"name": "x", "shape": [2, 2], "datatype": "{{dataType}}", "data": {{data}}}"""), "inputs[0].data", fragment);

    [Theory]
    [InlineData("[4294967296, 4294967296]")]
    [InlineData("[3037000500, 3037000500]")]
    [InlineData("[2, 4611686018427387904]")]
    [InlineData("[0, 9223372036854775807]")]
    [InlineData("[65536, 65536]")]
    [InlineData("[2147483647]")]
    [InlineData("[300000000]")]
    [InlineData("[1, 2147483591]")]
    public void ReadRequest_ElementCountOverflow_Throws(string shape)
    {
        // The last two hold few enough elements, but too many FP64 bytes for one buffer.
        var exception = AssertRequestFails(Request($$"""{"name": "x", "shape": {{shape}}, "datatype": "FP64", "data": [1]}"""), "inputs[0].shape");

        Assert.Contains("beyond the largest tensor", exception.Message);
    }

    [Fact]
    public void ReadRequest_HugeShapeLittleData_NoBufferSizedByTheShape()
    {
        var body = Utf8(Request("""{"name": "x", "shape": [100000000, 4], "datatype": "FP32", "data": [1, 2, 3]}"""));
        var pool = new CountingArrayPool();

        var exception = Assert.Throws<InferenceProtocolException>(() => InferenceBodyReader.ReadRequest(body, null, pool));

        Assert.Equal("inputs[0].data: expected 400000000 elements for shape [100000000, 4], got 3", exception.Message);
        Assert.InRange(pool.LargestRequest, 1, body.Length * 4);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void ReadRequest_HugeBytesShapeLittleData_NoBufferSizedByTheShape()
    {
        var body = Utf8(Request("""{"name": "x", "shape": [1000000000], "datatype": "BYTES", "data": ["a"]}"""));
        var pool = new CountingArrayPool();

        Assert.Throws<InferenceProtocolException>(() => InferenceBodyReader.ReadRequest(body, null, pool));

        Assert.InRange(pool.LargestRequest, 1, body.Length * 4);
        Assert.Equal(0, pool.Outstanding);
    }

    [Theory]
    [InlineData("UINT8", "300", "out of range for UINT8")]
    [InlineData("UINT8", "-1", "out of range for UINT8")]
    [InlineData("UINT16", "65536", "out of range for UINT16")]
    [InlineData("UINT32", "-1", "out of range for UINT32")]
    [InlineData("UINT32", "4294967296", "out of range for UINT32")]
    [InlineData("UINT64", "18446744073709551616", "out of range for UINT64")]
    [InlineData("UINT64", "-1", "out of range for UINT64")]
    [InlineData("INT8", "128", "out of range for INT8")]
    [InlineData("INT8", "-129", "out of range for INT8")]
    [InlineData("INT16", "32768", "out of range for INT16")]
    [InlineData("INT32", "2147483648", "out of range for INT32")]
    [InlineData("INT32", "-2147483649", "out of range for INT32")]
    [InlineData("INT64", "9223372036854775808", "out of range for INT64")]
    [InlineData("INT64", "-9223372036854775809", "out of range for INT64")]
    [InlineData("INT32", "1.5", "not an integer")]
    [InlineData("INT32", "1.0", "not an integer")]
    [InlineData("UINT8", "1e2", "not an integer")]
    [InlineData("INT64", "-0.5", "not an integer")]
    [InlineData("FP16", "65520", "out of range for FP16")]
    [InlineData("FP16", "-1e10", "out of range for FP16")]
    [InlineData("FP32", "1e39", "out of range for FP32")]
    [InlineData("FP32", "-3.5e38", "out of range for FP32")]
    [InlineData("FP64", "1e309", "out of range for FP64")]
    public void ReadRequest_NumberOutOfRange_Throws(string dataType, string value, string fragment)
    {
        var exception = AssertRequestFails(
            Request($$"""{"name": "x", "shape": [3], "datatype": "{{dataType}}", "data": [0, 1, {{value}}]}"""),
            "inputs[0].data",
            fragment);

        Assert.Contains("element 2 is " + value, exception.Message);
    }

    [Theory]
    [InlineData("BOOL", "1")]
    [InlineData("BOOL", "\"true\"")]
    [InlineData("BOOL", "null")]
    [InlineData("INT32", "\"1\"")]
    [InlineData("INT32", "true")]
    [InlineData("UINT8", "null")]
    [InlineData("FP32", "\"1.5\"")]
    [InlineData("FP32", "\"nan\"")]
    [InlineData("FP64", "\"inf\"")]
    [InlineData("FP16", "false")]
    [InlineData("FP32", "{}")]
    [InlineData("BYTES", "1")]
    [InlineData("BYTES", "null")]
    [InlineData("BYTES", "{\"b64\": \"AA==\"}")]
    public void ReadRequest_WrongValueKind_Throws(string dataType, string value) =>
        AssertRequestFails(
            Request($$"""{"name": "x", "shape": [2], "datatype": "{{dataType}}", "data": [{{value}}, {{value}}]}"""),
            "inputs[0].data",
            "element 0 is");

    [Theory]
    [InlineData(33)]
    [InlineData(62)]
    [InlineData(200)]
    [InlineData(100000)]
    public void ReadRequest_DeeplyNestedData_Throws(int depth)
    {
        var json = Request($$"""{"name": "x", "shape": [1], "datatype": "INT8", "data": {{new string('[', depth)}}1{{new string(']', depth)}}}""");

        AssertRequestFails(json, "inputs[0].data");
    }

    [Theory]
    [InlineData(100)]
    [InlineData(100000)]
    public void ReadRequest_DeeplyNestedParameters_Throws(int depth)
    {
        var json = $$"""{"parameters": {"p": {{new string('[', depth)}}{{new string(']', depth)}}}, "inputs": []}""";

        AssertRequestFails(json, "parameters", "invalid JSON");
    }

    [Fact]
    public void ReadRequest_HugeBadToken_MessageStaysShort()
    {
        var huge = new string('7', 1_000_000);

        var exception = AssertRequestFails(Request($$"""{"name": "x", "shape": [1], "datatype": "INT8", "data": [{{huge}}]}"""), "inputs[0].data", "out of range for INT8");

        Assert.InRange(exception.Message.Length, 1, 200);
    }

    [Fact]
    public void ReadRequest_TooManyDimensions_Throws()
    {
        var shape = string.Join(", ", Enumerable.Repeat("1", 65));

        AssertRequestFails(Request($$"""{"name": "x", "shape": [{{shape}}], "datatype": "INT8", "data": [1]}"""), "inputs[0].shape", "more than 64 dimensions");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0xC3 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    public void ReadRequest_InvalidUtf8InStrings_Throws(byte[] bad)
    {
        static byte[] With(string before, byte[] bad, string after) =>
            [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];

        AssertRequestFails(With("{\"inputs\": [{\"name\": \"x", bad, "\", \"shape\": [1], \"datatype\": \"INT8\", \"data\": [1]}]}"), null, "inputs[0].name", "UTF-8");
        AssertRequestFails(With("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"BYTES\", \"data\": [\"a", bad, "\"]}]}"), null, "inputs[0].data", "element 0");
        AssertRequestFails(With("{\"id\": \"a", bad, "\", \"inputs\": []}"), null, "id", "UTF-8");
        AssertRequestFails(With("{\"parameters\": {\"k", bad, "\": 1}, \"inputs\": []}"), null, "parameters", "UTF-8");
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("\\udc00x")]
    [InlineData("a\\ud83d")]
    public void ReadRequest_LoneSurrogateEscapes_Throws(string escaped)
    {
        AssertRequestFails(Request($$"""{"name": "x", "shape": [1], "datatype": "BYTES", "data": ["{{escaped}}"]}"""), "inputs[0].data", "element 0");
        AssertRequestFails(Request($$"""{"name": "{{escaped}}", "shape": [1], "datatype": "INT8", "data": [1]}"""), "inputs[0].name", "UTF-8");
        AssertRequestFails(Request($$"""{"name": "x", "shape": [1], "datatype": "FP{{escaped}}", "data": [1]}"""), "inputs[0].datatype", "unknown datatype");
    }

    // Found by the reliability fuzz run (tests/Reliability.Tests): Utf8JsonReader.ValueTextEquals throws
    // InvalidOperationException on these escapes when it has to unescape to compare, which the services answered with a 500.
    [Theory]
    [InlineData("\\ud800")]
    [InlineData("\\udc00x")]
    [InlineData("a\\ud83d")]
    public void ReadRequest_LoneSurrogateEscapeInAPropertyNameOrANumber_Throws(string escaped)
    {
        AssertRequestFails($$"""{"{{escaped}}identifier": 1, "inputs": []}""", "body", "property name");
        AssertRequestFails(Request($$"""{"name": "x", "{{escaped}}datatypes": 1, "shape": [1], "datatype": "FP32", "data": [1]}"""), "inputs[0]", "property name");
        AssertRequestFails($$"""{"inputs": [], "outputs": [{"name": "y", "parameters{{escaped}}n": 3}]}""", "outputs[0]", "property name");
        AssertRequestFails(Request($$"""{"name": "x", "shape": [1], "datatype": "FP32", "data": ["{{escaped}}NaN"]}"""), "inputs[0].data", "element 0");
        AssertRequestFails(Request($$"""{"name": "x", "shape": [1], "datatype": "FP64", "data": ["Infinity{{escaped}}"]}"""), "inputs[0].data", "element 0");
        AssertResponseFails(Utf8($$"""{"{{escaped}}model_names": "m", "outputs": []}"""), null, "body", "property name");
        AssertResponseFails(Utf8($$"""{"outputs": [{"name": "y", "{{escaped}}datatypes": 1, "shape": [1], "datatype": "FP32", "data": [1]}]}"""), null, "outputs[0]", "property name");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void ReadRequest_HeaderLengthNotPositive_Throws(int headerLength)
    {
        var exception = AssertRequestFails(Utf8("""{"inputs": []}"""), headerLength, ProtocolParameters.HeaderContentLength);

        Assert.Contains(headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture), exception.Message);
    }

    [Fact]
    public void ReadRequest_HeaderLengthPastTheBody_Throws()
    {
        var body = new byte[120];

        var exception = AssertRequestFails(body, 9000, ProtocolParameters.HeaderContentLength);

        Assert.Equal("Inference-Header-Content-Length: 9000 is larger than the body (120 bytes)", exception.Message);
    }

    [Fact]
    public void ReadRequest_HeaderLengthCutsTheJson_Throws()
    {
        var body = BinaryBody("""{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "parameters": {"binary_data_size": 1}}]}""", out var headerLength, [1]);

        AssertRequestFails(body, headerLength - 3, "inputs[0]", "invalid JSON");
    }

    [Fact]
    public void ReadRequest_BinaryDataSizeWithoutHeader_Throws()
    {
        var body = BinaryBody("""{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "parameters": {"binary_data_size": 1}}]}""", out _, [1]);

        AssertRequestFails(body, null, "inputs[0].parameters.binary_data_size", ProtocolParameters.HeaderContentLength);
    }

    [Theory]
    [InlineData("15")]
    [InlineData("17")]
    [InlineData("0")]
    public void ReadRequest_BinaryDataSizeNotElementsTimesSize_Throws(string size)
    {
        var body = BinaryBody(
            $$$"""{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "UINT32", "parameters": {"binary_data_size": {{{size}}}}}]}""",
            out var headerLength,
            new byte[16]);

        var exception = AssertRequestFails(body, headerLength, "inputs[0].parameters.binary_data_size");

        Assert.Equal($"inputs[0].parameters.binary_data_size: {size} bytes does not match shape [2, 2] of UINT32 (16 bytes)", exception.Message);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"16\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("[16]")]
    [InlineData("1e400")]
    public void ReadRequest_BinaryDataSizeNotANonNegativeInteger_Throws(string size)
    {
        var body = BinaryBody(
            $$$"""{"inputs": [{"name": "x", "shape": [4], "datatype": "UINT32", "parameters": {"binary_data_size": {{{size}}}}}]}""",
            out var headerLength,
            new byte[16]);

        AssertRequestFails(body, headerLength, "inputs[0].parameters.binary_data_size", "non-negative integer");
    }

    [Fact]
    public void ReadRequest_BinaryDataSizeTwice_Throws()
    {
        var body = BinaryBody(
            """{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "parameters": {"binary_data_size": 1, "binary_data_size": 1}}]}""",
            out var headerLength,
            [1]);

        AssertRequestFails(body, headerLength, "inputs[0].parameters.binary_data_size", "more than once");
    }

    [Fact]
    public void ReadRequest_BothDataAndBinaryDataSize_Throws()
    {
        var body = BinaryBody(
            """{"inputs": [{"name": "x", "shape": [2], "datatype": "INT8", "data": [1, 2], "parameters": {"binary_data_size": 2}}]}""",
            out var headerLength,
            [1, 2]);

        AssertRequestFails(body, headerLength, "inputs[0].data", "not both");
    }

    [Fact]
    public void ReadRequest_BothDataAndBinaryDataSizeAfterPooledTensor_ReturnsTheBuffer()
    {
        // The first tensor's JSON data is already in a pooled buffer when the second one fails.
        var body = BinaryBody(
            """
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP64", "data": [1, 2]},
                        {"name": "b", "parameters": {"binary_data_size": 2}, "shape": [2], "datatype": "INT8", "data": [1, 2]}]}
            """,
            out var headerLength,
            [1, 2]);

        AssertRequestFails(body, headerLength, "inputs[1].data", "not both");
    }

    [Fact]
    public void ReadRequest_NeitherDataNorBinaryDataSize_Throws()
    {
        var body = BinaryBody("""{"inputs": [{"name": "x", "shape": [1], "datatype": "INT8", "parameters": {"other": 1}}]}""", out var headerLength, [1]);

        AssertRequestFails(body, headerLength, "inputs[0].data", "required");
    }

    [Fact]
    public void ReadRequest_BinaryPartsShorterThanDeclared_Throws()
    {
        var body = BinaryBody(
            """
            {"inputs": [{"name": "a", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
                        {"name": "b", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}}]}
            """,
            out var headerLength,
            new byte[12]);

        var exception = AssertRequestFails(body, headerLength, "inputs[1].parameters.binary_data_size");

        Assert.Equal("inputs[1].parameters.binary_data_size: 8 bytes run past the end of the body (4 bytes of binary data left)", exception.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public void ReadRequest_BytesLeftOverAfterBinaryParts_Throws(int extra)
    {
        var body = BinaryBody(
            """{"inputs": [{"name": "a", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}}]}""",
            out var headerLength,
            new byte[8 + extra]);

        var exception = AssertRequestFails(body, headerLength, ProtocolParameters.HeaderContentLength);

        Assert.Contains($"{8 + extra} bytes follow the JSON header", exception.Message);
    }

    [Fact]
    public void ReadRequest_BinaryBytesAfterJsonOnlyTensors_Throws()
    {
        var body = BinaryBody("""{"inputs": [{"name": "a", "shape": [1], "datatype": "INT8", "data": [1]}]}""", out var headerLength, [1, 2, 3]);

        AssertRequestFails(body, headerLength, ProtocolParameters.HeaderContentLength, "add up to 0");
    }

    [Theory]
    [InlineData(new byte[] { 5, 0, 0, 0, (byte)'a', (byte)'b' }, "BYTES element 0 at byte 0")]
    [InlineData(new byte[] { 1, 0, 0, 0, (byte)'a', 1, 0 }, "BYTES element 1 at byte 5")]
    [InlineData(new byte[] { 1, 0, 0, 0, (byte)'a', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'b' }, "BYTES element 1 at byte 5")]
    [InlineData(new byte[] { 0, 0, 0 }, "BYTES element 0 at byte 0")]
    public void ReadRequest_BinaryBytesPrefixRunsPastItsBuffer_Throws(byte[] data, string fragment)
    {
        // A second tensor follows, so a prefix that runs past the first tensor stays inside the body.
        var body = BinaryBody(
            $$$"""
            {"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": {{{data.Length}}}}},
                        {"name": "t", "shape": [8], "datatype": "UINT8", "parameters": {"binary_data_size": 8}}]}
            """,
            out var headerLength,
            data,
            new byte[8]);

        AssertRequestFails(body, headerLength, "inputs[0].data", fragment);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ReadRequest_BinaryBytesElementCountOtherThanShape_Throws(int elements)
    {
        var strings = new string[elements];
        Array.Fill(strings, "xy");
        var data = Strings(strings);
        var body = BinaryBody(
            $$$"""{"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": {{{data.Length}}}}}]}""",
            out var headerLength,
            data);

        AssertRequestFails(body, headerLength, "inputs[0].data", $"expected 2 elements for shape [2], got {elements}");
    }

    [Fact]
    public void ReadRequest_BinaryBoolNotZeroOrOne_Throws()
    {
        var body = BinaryBody(
            """{"inputs": [{"name": "b", "shape": [3], "datatype": "BOOL", "parameters": {"binary_data_size": 3}}]}""",
            out var headerLength,
            [1, 0, 2]);

        AssertRequestFails(body, headerLength, "inputs[0].data", "BOOL element 2");
    }

    [Theory]
    [InlineData("{\"outputs\": []}", "model_name", "required")]
    [InlineData("{\"model_name\": \"m\"}", "outputs", "required")]
    [InlineData("{\"model_name\": 1, \"outputs\": []}", "model_name", "expected a string")]
    [InlineData("{\"model_name\": \"m\", \"model_version\": 2, \"outputs\": []}", "model_version", "expected a string")]
    [InlineData("{\"model_name\": \"m\", \"outputs\": [{\"name\": \"y\", \"shape\": [1], \"datatype\": \"FP32\"}]}", "outputs[0].data", "required")]
    [InlineData("{\"model_name\": \"m\", \"outputs\": [{\"name\": \"y\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}, {\"name\": \"y\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1]}]}", "outputs[1].name", "duplicate")]
    [InlineData("{\"model_name\": \"m\", \"outputs\": [{\"name\": \"y\", \"shape\": [2], \"datatype\": \"UINT8\", \"data\": [1, 256]}]}", "outputs[0].data", "out of range")]
    [InlineData("[]", "body", "expected a JSON object")]
    [InlineData("{\"model_name\": \"m\", \"outputs\": [", "outputs", "invalid JSON")]
    public void ReadResponse_BadBody_Throws(string json, string field, string fragment) =>
        AssertResponseFails(Utf8(json), null, field, fragment);

    [Fact]
    public void ReadResponse_HeaderLengthPastTheBody_Throws() =>
        AssertResponseFails(Utf8("{}"), 3, ProtocolParameters.HeaderContentLength, "larger than the body");
}
