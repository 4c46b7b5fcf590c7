using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using MlPlatform.Contracts.Predictions;
using static MlPlatform.Postprocessing.Tests.PostprocessHttp;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>V2 response bodies written by hand, in shapes and encodings the test models do not produce.</summary>
[Collection(ServicesCollection.Name)]
public sealed class HandWrittenResponseTests(ServicesFixture fixture)
{
    [Fact]
    public async Task Postprocess_VectorOfClasses_IsOnePrediction()
    {
        const string Body = """
            {"model_name": "animals", "outputs": [{"name": "logits", "shape": [4], "datatype": "FP32", "data": [0, 3, 1, 2]}]}
            """;

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, Body);
        var root = await ReadPredictionsAsync(response);

        var prediction = Assert.Single(Predictions(root));
        Assert.Equal(["dog", "émeu", "bird"], prediction.TopK.Select(e => e.Label));
        AssertClose(Softmax([0, 3, 1, 2])[1], prediction.Score, 1e-6);
        Assert.False(root.TryGetProperty("model_version", out _));
        Assert.False(root.TryGetProperty("id", out _));
    }

    [Fact]
    public async Task Postprocess_ScoresOutputAmongOthers_ReadsOnlyTheNamedOne()
    {
        const string Body = """
            {
              "model_name": "animals", "model_version": "7", "id": "r-1", "parameters": {"note": "kept out"},
              "outputs": [
                {"name": "features", "shape": [1, 2], "datatype": "INT64", "data": [1, 2]},
                {"name": "logits", "shape": [1, 4], "datatype": "FP32", "data": [[-1, -1, 8, -1]]},
                {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hello"]}
              ]
            }
            """;

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, Body);
        var root = await ReadPredictionsAsync(response);

        Assert.Equal("bird", Assert.Single(Predictions(root)).Label);
        Assert.Equal("7", root.GetProperty("model_version").GetString());
        Assert.Equal("r-1", root.GetProperty("id").GetString());
        Assert.False(root.TryGetProperty("parameters", out _));
    }

    [Fact]
    public async Task Postprocess_Answer_IsExactlyThePredictResponseContractsDefine()
    {
        const string Body = """
            {"model_name": "animals", "model_version": "7", "id": "r-2", "outputs": [{"name": "logits", "shape": [2, 4], "datatype": "FP32", "data": [0, 3, 1, 2, 5, 0, 0, 0]}]}
            """;
        var strict = new JsonSerializerOptions { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true };

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, Body);
        var answer = JsonSerializer.Deserialize<PredictResponse>((await ReadPredictionsAsync(response)).GetRawText(), strict);

        Assert.NotNull(answer);
        Assert.Equal(("animals", "7", "r-2"), (answer.ModelName, answer.ModelVersion, answer.Id));
        Assert.Equal(["dog", "cat"], answer.Predictions.Select(prediction => prediction.Label));
        Assert.All(answer.Predictions, prediction => Assert.Equal(prediction.Label, prediction.TopK[0].Label));
    }

    [Fact]
    public async Task Postprocess_EmptyBatch_AnswersNoPredictions()
    {
        const string Body = """
            {"model_name": "animals", "outputs": [{"name": "logits", "shape": [0, 4], "datatype": "FP32", "data": []}]}
            """;

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, Body);

        Assert.Empty(Predictions(await ReadPredictionsAsync(response)));
    }

    [Fact]
    public async Task Postprocess_NegativeInfinityLogits_GetProbabilityZero()
    {
        const string Body = """
            {"model_name": "animals", "outputs": [{"name": "logits", "shape": [1, 4], "datatype": "FP32", "data": ["-Infinity", 0, "-Infinity", 0]}]}
            """;

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, Body);
        var prediction = Assert.Single(Predictions(await ReadPredictionsAsync(response)));

        Assert.Equal([("dog", 0.5), ("émeu", 0.5), ("cat", 0.0)], prediction.TopK);
    }

    [Fact]
    public async Task Postprocess_BinaryFp64BodyWithoutContentType_ReadsTheRawScores()
    {
        var bytes = new byte[2 * 3 * sizeof(double)];
        double[] logits = [0.5, -2, 0.25, 10, 10, 9];
        for (var i = 0; i < logits.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * sizeof(double)), logits[i]);
        }

        var forwarded = Binary(
            """{"model_name":"double-logits","outputs":[{"name":"logits","shape":[2,3],"datatype":"FP64","parameters":{"binary_data_size":48}}]}""",
            bytes) with { ContentType = null };

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.DoubleLogits, forwarded);
        var predictions = Predictions(await ReadPredictionsAsync(response));

        Assert.Equal(["0", "2", "1"], predictions[0].TopK.Select(e => e.Label));
        Assert.Equal(["0", "1", "2"], predictions[1].TopK.Select(e => e.Label));
        var expected = Softmax([10.0, 10, 9]);
        AssertClose(expected[0], predictions[1].TopK[0].Score, 1e-15);
        AssertClose(expected[2], predictions[1].TopK[2].Score, 1e-15);
    }

    [Fact]
    public async Task Postprocess_BinaryFp16Body_WidensHalfPrecisionScores()
    {
        var bytes = new byte[4 * sizeof(ushort)];
        Half[] scores = [(Half)0.1, (Half)0.7, (Half)0.15, (Half)0.05];
        for (var i = 0; i < scores.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * sizeof(ushort)), scores[i]);
        }

        var forwarded = Binary(
            """{"model_name":"half-scores","outputs":[{"name":"scores","shape":[4],"datatype":"FP16","parameters":{"binary_data_size":8}}]}""",
            bytes);

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.HalfScores, forwarded);
        var prediction = Assert.Single(Predictions(await ReadPredictionsAsync(response)));

        Assert.Equal(["high", "2"], prediction.TopK.Select(e => e.Label));
        Assert.Equal([(float)scores[1], (float)scores[2]], prediction.TopK.Select(e => (float)e.Score));
    }

    [Fact]
    public async Task Postprocess_BodyExactlyAtTheLimit_IsAccepted()
    {
        var json = """{"model_name": "animals", "outputs": [{"name": "logits", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""";
        var padded = json + new string(' ', (int)ServicesFixture.BodyLimit - json.Length);

        using var response = await PostprocessJsonAsync(fixture.Postprocessing.Client, TestModels.Animals, padded);

        Assert.Equal("émeu", Assert.Single(Predictions(await ReadPredictionsAsync(response))).Label);
    }
}
