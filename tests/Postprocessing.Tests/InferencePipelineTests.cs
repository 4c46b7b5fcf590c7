using System.Text.Json.Nodes;
using MlPlatform.TestSupport;
using static MlPlatform.Postprocessing.Tests.PostprocessHttp;

namespace MlPlatform.Postprocessing.Tests;

/// <summary>Real inference responses, JSON and binary, forwarded unchanged as the gateway does.</summary>
[Collection(ServicesCollection.Name)]
public sealed class InferencePipelineTests(ServicesFixture fixture)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Postprocess_BundledDigitModelResponse_LabelsTheSevenWithTopThree(bool binary)
    {
        var request = JsonNode.Parse(File.ReadAllText(RepositoryPaths.InRoot("models", "mnist", "example-request.json")))!;
        request["parameters"] = new JsonObject { ["binary_data_output"] = binary };
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Mnist, request);
        Assert.Equal(binary, forwarded.HeaderLength is not null);

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Mnist, forwarded);
        var root = await ReadPredictionsAsync(response);

        var probabilities = OutputFloats(forwarded, "probabilities");
        var prediction = Assert.Single(Predictions(root));
        Assert.Equal("7", prediction.Label);
        Assert.Equal(probabilities[7], (float)prediction.Score);
        var expectedTop = Rank([.. probabilities.Select(p => (double)p)], 3);
        Assert.Equal(expectedTop.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), prediction.TopK.Select(e => e.Label));
        Assert.Equal(expectedTop.Select(i => probabilities[i]), prediction.TopK.Select(e => (float)e.Score));
        Assert.Equal((prediction.Label, prediction.Score), prediction.TopK[0]);
        Assert.Equal("mnist", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        Assert.Equal("example-7", root.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Postprocess_BatchOfHeldOutDigits_OnePredictionPerRowInOrder()
    {
        var digits = HoldOutDigits.Load().Take(8).ToList();
        var pixels = digits.SelectMany(d => d.Pixels).ToArray();
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Mnist, Request("input", [digits.Count, 1, 28, 28], pixels, binaryOutput: true));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Mnist, forwarded);
        var predictions = Predictions(await ReadPredictionsAsync(response));

        var probabilities = OutputFloats(forwarded, "probabilities");
        Assert.Equal(digits.Count, predictions.Length);
        for (var row = 0; row < digits.Count; row++)
        {
            var rowScores = probabilities.Skip(row * 10).Take(10).Select(p => (double)p).ToArray();
            var expected = Rank(rowScores, 3);
            Assert.Equal(expected.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), predictions[row].TopK.Select(e => e.Label));
            Assert.Equal(expected.Select(i => (float)rowScores[i]), predictions[row].TopK.Select(e => (float)e.Score));
        }

        // The model is right on at least 7 of these 8 held-out digits; mixed-up rows would not be.
        Assert.True(digits.Where((digit, row) => predictions[row].Label == digit.Label.ToString(System.Globalization.CultureInfo.InvariantCulture)).Count() >= 7);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Postprocess_LogitsModel_AppliesSoftmaxAndNamesClassesFromLabels(bool binary)
    {
        float[][] rows = [[2f, 1f, 0.5f, -1f], [0f, 0f, 0f, 0f], [1000f, 999f, -1000f, 0f], [-3f, 5f, 4f, 5f]];
        var forwarded = await InferAsync(
            fixture.Inference.Client, TestModels.Animals, Request("x", [rows.Length, 4], [.. rows.SelectMany(r => r)], binary, id: "zoo"));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, forwarded);
        var root = await ReadPredictionsAsync(response);

        var predictions = Predictions(root);
        Assert.Equal(rows.Length, predictions.Length);
        for (var r = 0; r < rows.Length; r++)
        {
            var expected = Softmax([.. rows[r].Select(v => (double)v)]).Select(p => (double)(float)p).ToArray();
            var top = Rank(expected, 3);
            Assert.Equal(top.Select(i => TestModels.AnimalLabels[i]), predictions[r].TopK.Select(e => e.Label));
            for (var i = 0; i < top.Length; i++)
            {
                AssertClose(expected[top[i]], predictions[r].TopK[i].Score, 1e-6);
            }
        }

        // Equal logits tie; the lower index wins.
        Assert.Equal(["cat", "dog", "bird"], predictions[1].TopK.Select(e => e.Label));
        Assert.Equal(["dog", "émeu", "bird"], predictions[3].TopK.Select(e => e.Label));
        Assert.Equal("zoo", root.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Postprocess_LogitsModel_LabelsAreWrittenUnescaped()
    {
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Animals, Request("x", [1, 4], [0f, 0f, 0f, 9f], binaryOutput: false));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Animals, forwarded);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Contains("\"label\":\"émeu\"", text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Postprocess_Fp16Scores_RanksAsTheyAreAndNamesClassesPastTheLabelsByIndex(bool binary)
    {
        var forwarded = await InferAsync(
            fixture.Inference.Client, TestModels.HalfScores, Request("x", [2, 3], [0.25f, 0.5f, 0.75f, 0.125f, 0.0625f, 0.03125f], binary));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.HalfScores, forwarded);
        var predictions = Predictions(await ReadPredictionsAsync(response));

        Assert.Equal(2, predictions.Length);
        Assert.Equal([("2", 0.75), ("high", 0.5)], predictions[0].TopK);
        Assert.Equal([("low", 0.125), ("high", 0.0625)], predictions[1].TopK);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Postprocess_Fp64Logits_SoftmaxInDoublePrecisionAndTopKClampedToTheClasses(bool binary)
    {
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.DoubleLogits, Request("x", [1, 3], [1f, 2f, 3f], binary));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.DoubleLogits, forwarded);
        var prediction = Assert.Single(Predictions(await ReadPredictionsAsync(response)));

        var expected = Softmax([1.0, 2.0, 3.0]);
        Assert.Equal(["2", "1", "0"], prediction.TopK.Select(e => e.Label));
        AssertClose(expected[2], prediction.TopK[0].Score, 1e-15);
        AssertClose(expected[1], prediction.TopK[1].Score, 1e-15);
        AssertClose(expected[0], prediction.TopK[2].Score, 1e-15);

        // More digits than a float holds: the scores kept double precision.
        Assert.NotEqual((double)(float)prediction.Score, prediction.Score);
    }

    [Fact]
    public async Task Postprocess_TopKAboveInsertionLimit_RanksEveryClassWithTiesByIndex()
    {
        var scores = Enumerable.Range(0, TestModels.WideClasses).Select(i => (float)((i * 7) % 11)).ToArray();
        var forwarded = await InferAsync(fixture.Inference.Client, TestModels.Wide, Request("x", [1, TestModels.WideClasses], scores, binaryOutput: true));

        using var response = await PostprocessAsync(fixture.Postprocessing.Client, TestModels.Wide, forwarded);
        var prediction = Assert.Single(Predictions(await ReadPredictionsAsync(response)));

        var expected = Rank([.. scores.Select(s => (double)s)], TestModels.WideClasses);
        Assert.Equal(expected.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), prediction.TopK.Select(e => e.Label));
        Assert.Equal(expected.Select(i => (double)scores[i]), prediction.TopK.Select(e => e.Score));
    }
}
