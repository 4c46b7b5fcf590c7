using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using MlPlatform.Inference.Grpc.Protos;
using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// Triton's statistics extension over REST: the counts and durations of requests whose batching is known, failures,
/// each route's versions, unknown names, and agreement with the meter on <c>/metrics</c>.
/// </summary>
public sealed class StatisticsTests(StatisticsFixture fixture) : IClassFixture<StatisticsFixture>
{
    // TimeSpan, which the meter records, has 100 ns ticks; the statistics keep nanoseconds.
    private const double MeterResolutionNs = 100;

    [Fact]
    public async Task Stats_RequestsOfKnownBatchSizes_CountItemsRequestsExecutionsAndEachBatchSize()
    {
        var before = await VersionStats.GetVersionAsync(fixture.Client, "batched", "2");
        var startedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Four items or more run at once, one execution each.
        var clientNs = 0L;
        foreach (var rows in new[] { 4, 8, 4 })
        {
            var (status, elapsedNs) = await InferBatchedAsync("2", rows);
            Assert.Equal(HttpStatusCode.OK, status);
            clientNs += elapsedNs;
        }

        var endedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var after = await VersionStats.GetVersionAsync(fixture.Client, "batched", "2");
        var grown = after.Since(before);

        Assert.Equal(16, grown("inference_count"));
        Assert.Equal(3, grown("execution_count"));
        Assert.Equal(3, grown("inference_stats.success.count"));
        Assert.Equal(0, grown("inference_stats.fail.count"));
        foreach (var phase in new[] { "queue", "compute_input", "compute_infer", "compute_output" })
        {
            Assert.Equal(3, grown($"inference_stats.{phase}.count"));
        }

        foreach (var phase in VersionStats.BatchPhases)
        {
            Assert.Equal(2, grown($"batch_stats[4].{phase}.count"));
            Assert.Equal(1, grown($"batch_stats[8].{phase}.count"));
            Assert.True(grown($"inference_stats.{phase}.ns") > 0, $"{phase} took no time");
            // Each request ran alone, so each request's phase is its execution's.
            Assert.Equal(grown($"batch_stats[4].{phase}.ns") + grown($"batch_stats[8].{phase}.ns"), grown($"inference_stats.{phase}.ns"));
        }

        var phases = grown("inference_stats.queue.ns") + grown("inference_stats.compute_input.ns") + grown("inference_stats.compute_infer.ns") + grown("inference_stats.compute_output.ns");
        Assert.InRange(grown("inference_stats.success.ns"), phases, clientNs);
        Assert.Equal(0, grown("inference_stats.cache_hit.count") + grown("inference_stats.cache_miss.count"));
        Assert.InRange((long)after["last_inference"], startedMs, endedMs);
    }

    [Fact]
    public async Task Stats_ModelWithoutBatching_CountsEachRequestAsOneItemInItsOwnExecutionWithNoQueue()
    {
        var before = await VersionStats.GetVersionAsync(fixture.Client, "single", "1");

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await InferSingleAsync());
        }

        var after = await VersionStats.GetVersionAsync(fixture.Client, "single", "1");
        var grown = after.Since(before);
        Assert.Equal(5, grown("inference_count"));
        Assert.Equal(5, grown("execution_count"));
        Assert.Equal(5, grown("inference_stats.success.count"));
        Assert.Equal(5, grown("inference_stats.queue.count"));
        Assert.Equal(0, grown("inference_stats.queue.ns"));
        Assert.Equal(5, grown("batch_stats[1].compute_infer.count"));
        Assert.Equal([1UL], after.BatchSizes);
    }

    [Fact]
    public async Task Stats_ConcurrentRequestsToABatchedModel_CountOneExecutionForAllTheirItems()
    {
        var before = await VersionStats.GetVersionAsync(fixture.Client, "batched", "1");

        // Three items and one, together within the queue delay: one execution of four.
        var statuses = await Task.WhenAll(InferBatchedAsync("1", 3), InferBatchedAsync("1", 1));

        Assert.All(statuses, result => Assert.Equal(HttpStatusCode.OK, result.Status));
        var after = await VersionStats.GetVersionAsync(fixture.Client, "batched", "1");
        var grown = after.Since(before);
        Assert.Equal(4, grown("inference_count"));
        Assert.Equal(1, grown("execution_count"));
        Assert.Equal(2, grown("inference_stats.success.count"));
        Assert.Equal(1, grown("batch_stats[4].compute_infer.count"));
        Assert.True(grown("inference_stats.queue.ns") > 0, "the first request waited for the second, yet queued no time");
        foreach (var phase in VersionStats.BatchPhases)
        {
            // Both requests were in the one execution: each counts its phases.
            Assert.Equal(2 * grown($"batch_stats[4].{phase}.ns"), grown($"inference_stats.{phase}.ns"));
        }
    }

    [Fact]
    public async Task Stats_RequestTheModelFailsOn_CountsAsFailWithItsDurationAndNoExecution()
    {
        var before = await VersionStats.GetVersionAsync(fixture.Client, "lookup", "1");

        // Three items run at once; index 9 is past the table.
        var stopwatch = Stopwatch.StartNew();
        var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/lookup/infer", LookupJson(0, 9, 1));
        var clientNs = (long)stopwatch.Elapsed.TotalNanoseconds;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("failed to run", body.RootElement.GetProperty("error").GetString());
        var grown = (await VersionStats.GetVersionAsync(fixture.Client, "lookup", "1")).Since(before);
        Assert.Equal(1, grown("inference_stats.fail.count"));
        Assert.InRange(grown("inference_stats.fail.ns"), 1, clientNs);
        Assert.Equal(0, grown("inference_stats.success.count"));
        Assert.Equal(0, grown("inference_stats.queue.count"));
        Assert.Equal(0, grown("inference_count"));
        Assert.Equal(0, grown("execution_count"));
    }

    [Fact]
    public async Task Stats_BatchWithARequestTheModelFailsOn_CountsTheOthersRunAloneAsTheirOwnExecutions()
    {
        var before = await VersionStats.GetVersionAsync(fixture.Client, "lookup", "1");
        var executionsBefore = await PrometheusMetrics.ReadAsync(fixture.Client, "mlplatform_inference_executions_total", "model=\"lookup\"");

        // Batched as three, the run fails; each then runs alone and only index 9 fails.
        var statuses = await Task.WhenAll(new long[] { 0, 9, 2 }.Select(async index =>
        {
            var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/lookup/infer", LookupJson(index));
            body.Dispose();
            return response.StatusCode;
        }));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.OK], statuses);
        var grown = (await VersionStats.GetVersionAsync(fixture.Client, "lookup", "1")).Since(before);
        Assert.Equal(2, grown("execution_count"));
        Assert.Equal(2, grown("batch_stats[1].compute_infer.count"));
        Assert.Equal(0, grown("batch_stats[3].compute_infer.count"));
        Assert.Equal(2, grown("inference_count"));
        Assert.Equal(2, grown("inference_stats.success.count"));
        Assert.Equal(1, grown("inference_stats.fail.count"));
        Assert.Equal(
            executionsBefore + 2,
            await PrometheusMetrics.ReadAsync(fixture.Client, "mlplatform_inference_executions_total", "model=\"lookup\""));
    }

    [Fact]
    public async Task Stats_VersionInRoute_ReportsThatVersionAloneAndTheModelRouteEveryVersion()
    {
        var before = await VersionStats.GetAsync(fixture.Client, "/v2/models/batched/stats");

        Assert.Equal(HttpStatusCode.OK, (await InferBatchedAsync("1", 4)).Status);

        var model = await VersionStats.GetAsync(fixture.Client, "/v2/models/batched/stats");
        var version = await VersionStats.GetVersionAsync(fixture.Client, "batched", "1");
        Assert.Equal([("batched", "2"), ("batched", "1")], model.Select(v => (v.Name, v.Version)).ToArray());
        Assert.Equal(("batched", "1"), (version.Name, version.Version));
        Assert.Equal(model[1].Figures, version.Figures);
        Assert.Equal(4, model[1].Since(before[1])("inference_count"));
        Assert.Equal(before[0].Figures, model[0].Figures);
    }

    [Fact]
    public async Task Stats_AllModels_ListEveryVersionOfEveryModelInTheIndexOrder()
    {
        var all = await VersionStats.GetAsync(fixture.Client, "/v2/models/stats");
        var (_, index) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/repository/index", "{}");

        var versions = all.Select(v => (v.Name, v.Version)).ToArray();
        Assert.Equal([("batched", "2"), ("batched", "1"), ("lookup", "1"), ("single", "1")], versions);
        Assert.Equal(
            index.RootElement.EnumerateArray().Select(entry => (entry.GetProperty("name").GetString()!, entry.GetProperty("version").GetString()!)).ToArray(),
            versions);
        index.Dispose();
    }

    [Theory]
    [InlineData("/v2/models/nosuch/stats", "unknown model 'nosuch'")]
    [InlineData("/v2/models/nosuch/versions/1/stats", "unknown model 'nosuch'")]
    [InlineData("/v2/models/batched/versions/9/stats", "unknown version '9' of model 'batched'")]
    public async Task Stats_UnknownModelOrVersion_Answers404NamingIt(string path, string message)
    {
        using var response = await fixture.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(message, body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ServerMetadata_Extensions_IncludeStatistics()
    {
        using var body = JsonDocument.Parse(await fixture.Client.GetStringAsync("/v2"));

        Assert.Contains("statistics", body.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Stats_AfterMixedLoad_AgreeWithTheMetersCountsAndSums()
    {
        // REST and gRPC together, both versions, batches that fill and batches that wait, a model without batching,
        // and runs that fail.
        var grpc = fixture.Grpc.Client;
        var load = new List<Task>();
        for (var i = 0; i < 6; i++)
        {
            load.Add(InferBatchedAsync(i % 2 == 0 ? "1" : "2", 1 + (i % 3)));
            load.Add(InferSingleAsync());
        }

        for (var i = 0; i < 3; i++)
        {
            var request = new ModelInferRequest { ModelName = "batched", ModelVersion = "2" };
            request.Inputs.Add(GrpcMessages.Input("x", "FP32", 2, 2));
            request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1f, 2, 3, 4 } };
            load.Add(grpc.ModelInferAsync(request).ResponseAsync);
        }

        load.AddRange(new long[] { 1, 7, 3, 2 }.Select(index => ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/lookup/infer", LookupJson(index))));
        load.Add(ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/lookup/infer", LookupJson(3, 2, 1)));
        await Task.WhenAll(load);

        var all = await VersionStats.GetAsync(fixture.Client, "/v2/models/stats");
        foreach (var model in all.GroupBy(v => v.Name))
        {
            var label = $"model=\"{model.Key}\"";
            async Task<double> MeterAsync(string name) => await PrometheusMetrics.ReadAsync(fixture.Client, name, label);
            double Sum(string path) => model.Sum(v => (double)v[path]);
            double BatchSum(string phase) => model.Sum(v => v.BatchSizes.Sum(size => (double)v[$"batch_stats[{size}].{phase}.ns"]));

            var executions = Sum("execution_count");
            var queued = Sum("inference_stats.queue.count");
            Assert.True(executions > 0 && queued > 0, $"{model.Key}: the load ran nothing");
            Assert.Equal(executions, await MeterAsync("mlplatform_inference_executions_total"));
            Assert.Equal(executions, await MeterAsync("mlplatform_inference_batch_size_count"));
            Assert.Equal(executions, await MeterAsync("mlplatform_inference_compute_duration_seconds_count"));
            Assert.Equal(Sum("inference_count"), await MeterAsync("mlplatform_inference_batch_size_sum"));
            Assert.Equal(queued, await MeterAsync("mlplatform_inference_queue_duration_seconds_count"));
            Assert.Equal(Sum("inference_stats.success.count"), queued);

            var computeNs = BatchSum("compute_input") + BatchSum("compute_infer") + BatchSum("compute_output");
            Assert.InRange(
                await MeterAsync("mlplatform_inference_compute_duration_seconds_sum") * 1e9,
                computeNs - (executions * MeterResolutionNs) - 1,
                computeNs + 1);
            var queueNs = Sum("inference_stats.queue.ns");
            Assert.InRange(
                await MeterAsync("mlplatform_inference_queue_duration_seconds_sum") * 1e9,
                queueNs - (queued * MeterResolutionNs) - 1,
                queueNs + 1);
        }

        var batched = all.Where(v => v.Name == "batched").ToArray();
        Assert.True(batched.Sum(v => (double)v["execution_count"]) < batched.Sum(v => (double)v["inference_count"]), "the batched model merged no requests");
        Assert.True(all.Single(v => v.Name == "lookup")["inference_stats.fail.count"] > 0, "no run failed");
    }

    private async Task<(HttpStatusCode Status, long ElapsedNs)> InferBatchedAsync(string version, int rows)
    {
        var values = string.Join(",", Enumerable.Range(0, rows * 2).Select(i => i.ToString(CultureInfo.InvariantCulture)));
        var json = $$"""{"inputs":[{"name":"x","shape":[{{rows}},2],"datatype":"FP32","data":[{{values}}]}]}""";
        var stopwatch = Stopwatch.StartNew();
        var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, $"/v2/models/batched/versions/{version}/infer", json);
        var elapsed = (long)stopwatch.Elapsed.TotalNanoseconds;
        body.Dispose();
        return (response.StatusCode, elapsed);
    }

    private async Task<HttpStatusCode> InferSingleAsync()
    {
        const string Json = """
            {"inputs":[{"name":"a","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]},{"name":"b","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}
            """;
        var (response, body) = await ProtocolHttp.PostJsonAsync(fixture.Client, "/v2/models/single/infer", Json);
        body.Dispose();
        return response.StatusCode;
    }

    private static string LookupJson(params long[] indices) =>
        $$"""{"inputs":[{"name":"index","shape":[{{indices.Length}}],"datatype":"INT64","data":[{{string.Join(",", indices)}}]}]}""";
}
