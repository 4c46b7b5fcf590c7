using System.Net;
using Grpc.Core;
using MlPlatform.Inference.Grpc.Protos;

namespace MlPlatform.Inference.Tests;

/// <summary>ModelStatistics as Triton's gRPC clients call it: the REST endpoint's figures, and its errors as statuses.</summary>
public sealed class GrpcStatisticsTests(StatisticsFixture fixture) : IClassFixture<StatisticsFixture>
{
    [Fact]
    public async Task ModelStatistics_EveryRequestForm_EqualsTheRestRoute()
    {
        await InferAsync("1", 4);
        await InferAsync("2", 8);
        using (var response = await fixture.Client.PostAsync("/v2/models/single/infer", ProtocolHttp.Json(
            """{"inputs":[{"name":"a","shape":[1,1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1,1],"datatype":"FP32","data":[2]}]}""")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var forms = new (ModelStatisticsRequest Request, string Path)[]
        {
            (new ModelStatisticsRequest(), "/v2/models/stats"),
            (new ModelStatisticsRequest { Name = "batched" }, "/v2/models/batched/stats"),
            (new ModelStatisticsRequest { Name = "batched", Version = "1" }, "/v2/models/batched/versions/1/stats"),
            (new ModelStatisticsRequest { Name = "single" }, "/v2/models/single/stats"),
        };
        foreach (var (request, path) in forms)
        {
            var grpc = VersionStats.FromMessage(await fixture.Grpc.Client.ModelStatisticsAsync(request));
            var rest = await VersionStats.GetAsync(fixture.Client, path);

            Assert.Equal(rest.Select(v => (v.Name, v.Version)), grpc.Select(v => (v.Name, v.Version)));
            for (var i = 0; i < rest.Length; i++)
            {
                Assert.Equal(rest[i].Figures, grpc[i].Figures);
            }
        }

        var v1 = Assert.Single(VersionStats.FromMessage(await fixture.Grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "batched", Version = "1" })));
        Assert.True(v1["inference_count"] >= 4 && v1["inference_stats.compute_infer.ns"] > 0, "nothing was counted to compare");
    }

    [Fact]
    public async Task ModelStatistics_AfterGrpcInferences_CountsThemAsRestOnesAre()
    {
        var before = Assert.Single(VersionStats.FromMessage(
            await fixture.Grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "batched", Version = "2" })));

        await InferAsync("2", 4);
        await InferAsync("2", 5);

        var after = Assert.Single(VersionStats.FromMessage(
            await fixture.Grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "batched", Version = "2" })));
        var grown = after.Since(before);
        Assert.Equal(9, grown("inference_count"));
        Assert.Equal(2, grown("execution_count"));
        Assert.Equal(2, grown("inference_stats.success.count"));
        Assert.Equal(1, grown("batch_stats[4].compute_infer.count"));
        Assert.Equal(1, grown("batch_stats[5].compute_infer.count"));
    }

    [Theory]
    [InlineData("nosuch", "", "unknown model 'nosuch'")]
    [InlineData("nosuch", "1", "unknown model 'nosuch'")]
    [InlineData("batched", "9", "unknown version '9' of model 'batched'")]
    public async Task ModelStatistics_UnknownModelOrVersion_IsNotFoundNamingIt(string model, string version, string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = model, Version = version }));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains(message, error.Status.Detail);
    }

    /// <summary>Four items or more, so the batched model runs them at once.</summary>
    private async Task InferAsync(string version, int rows)
    {
        var request = new ModelInferRequest { ModelName = "batched", ModelVersion = version };
        request.Inputs.Add(GrpcMessages.Input("x", "FP32", rows, 2));
        request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { new float[rows * 2] } };
        await fixture.Grpc.Client.ModelInferAsync(request);
    }
}
