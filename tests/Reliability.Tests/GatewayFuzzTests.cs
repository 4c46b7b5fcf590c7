using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MlPlatform.Platform.Testing;
using MlPlatform.Reliability.Tests.Fuzz;
using MlPlatform.Reliability.Tests.Support;
using MlPlatform.TestSupport;

namespace MlPlatform.Reliability.Tests;

/// <summary>The application as it ships (one gateway, two replicas of each service), for the fuzz run alone.</summary>
public sealed class FuzzFixture : IAsyncLifetime
{
    public RunningPlatform Platform { get; private set; } = null!;

    public async Task InitializeAsync() => Platform = await RunningPlatform.StartAsync([]);

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

/// <summary>
/// Drill 4: ten thousand malformed requests from a fixed seed, across every public route of the gateway and
/// the HTTP layer under it. Whatever comes in, the answer is a 4xx (or a 2xx/3xx for the odd valid one), never
/// a 5xx; nothing hangs; no process crashes; and the platform predicts as well afterwards as before.
/// </summary>
public sealed class GatewayFuzzTests(FuzzFixture fixture, ITestOutputHelper output) : IClassFixture<FuzzFixture>
{
    private const int Seed = 20_251_123;
    private const int Requests = 10_000;
    private const int SlowBodies = 6;
    private const int Concurrency = 16;

    [Fact]
    public async Task Fuzz_TenThousandMalformedRequests_No5xxNoHangNoCrash_AndPredictionsStillRight()
    {
        var platform = fixture.Platform;
        var before = platform.AllReplicas.ToDictionary(p => p.ResourceId, p => (RunningPlatform.ServiceProcessId(p), p.Starts));
        using var sender = new FuzzSender(platform.ServiceUrl("gateway"));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        // The few slow bodies hold their connections open alongside the rest, as a slowloris client would.
        var slow = FuzzCorpus.SlowBodies(Requests, SlowBodies).Select(sender.SendAsync).ToList();
        var results = new ConcurrentBag<FuzzResult>();
        // One case at a time is taken from the generator, so their order (and each one's index) is the seed's.
        await Parallel.ForEachAsync(
            FuzzCorpus.Generate(Seed, Requests),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency },
            async (fuzz, _) => results.Add(await sender.SendAsync(fuzz)));
        foreach (var result in await Task.WhenAll(slow))
        {
            results.Add(result);
        }

        var elapsed = watch.Elapsed;
        var all = results.OrderBy(r => r.Case.Index).ToList();
        Report(all, elapsed);

        var failures = all.Select(r => (Result: r, Why: Judge(r))).Where(f => f.Why is not null).ToList();
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} of {all.Count} fuzz requests were answered wrongly (seed {Seed}); each with the request to reproduce it:{Environment.NewLine}"
            + string.Join(Environment.NewLine, failures.Take(15).Select(f =>
                $"{f.Why}{Environment.NewLine}  {f.Result.Case.Describe()}{Environment.NewLine}  answer: {FuzzCase.Printable(System.Text.Encoding.UTF8.GetBytes(f.Result.ResponsePrefix), 400)}")));
        Assert.True(all.Count == Requests + SlowBodies, $"{all.Count} requests were sent, not {Requests + SlowBodies}");

        // An exception a service did not handle shows in its log even when no 5xx reached the client (thrown after the
        // response started, the connection is cut instead): none is acceptable either.
        var unhandled = ((string[])["gateway", "preprocessing", "inference", "postprocessing"])
            .SelectMany(service => UnhandledExceptions(platform.ConsoleLines(service)))
            .ToList();
        Assert.True(unhandled.Count == 0, $"{unhandled.Count} unhandled exceptions in the services' logs; the first:{Environment.NewLine}{unhandled.FirstOrDefault()}");

        // No crash: every process is the one that was there before, never restarted, and healthy.
        foreach (var replica in platform.AllReplicas)
        {
            Assert.True(replica.IsRunningAndHealthy, $"{replica.ResourceId} is {replica.State}/{replica.Health}");
            var now = (RunningPlatform.ServiceProcessId(replica), replica.Starts);
            Assert.True(before[replica.ResourceId] == now, $"{replica.ResourceId}: was pid {before[replica.ResourceId].Item1} started {before[replica.ResourceId].Starts} times, now pid {now.Item1} started {now.Starts} times");
            Assert.Equal(1, replica.Starts);
            Assert.True(await ReplicaProbe.IsHealthyAsync(replica), $"{replica.ResourceId} does not answer /health with 2xx");
        }

        // And the platform still predicts right: one held-out digit of each class.
        using var gateway = new HttpClient { BaseAddress = platform.ServiceUrl("gateway") };
        gateway.DefaultRequestHeaders.Add("apikey", FuzzCorpus.ApiKey);
        for (var label = 0; label < 10; label++)
        {
            using var content = new ByteArrayContent(DigitImages.BlackOnWhite(HoldOutDigits.First(label)));
            content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            using var response = await gateway.PostAsync("/v1/models/mnist:predict", content);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"predict after the fuzz run answered {(int)response.StatusCode}: {body}");
            using var json = JsonDocument.Parse(body);
            Assert.Equal(label.ToString(CultureInfo.InvariantCulture), json.RootElement.GetProperty("predictions")[0].GetProperty("label").GetString());
        }
    }

    /// <summary>Each "unhandled exception" line of one replica's console, with the stack trace lines after it.</summary>
    private static IEnumerable<string> UnhandledExceptions(IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Contains("unhandled exception", StringComparison.OrdinalIgnoreCase))
            {
                yield return string.Join(Environment.NewLine, lines.Skip(i).Take(12));
            }
        }
    }

    /// <summary>Null when the answer is acceptable; otherwise what is wrong with it.</summary>
    private static string? Judge(FuzzResult result)
    {
        var fuzz = result.Case;
        if (result.Hung)
        {
            return $"HANG: {result.NoAnswer}";
        }

        if (result.Status >= 500)
        {
            return $"{result.Status} from the gateway";
        }

        if (result.Status == 0)
        {
            return fuzz.MayCloseWithoutAnswer ? null : $"NO ANSWER: {result.NoAnswer}";
        }

        if (fuzz.ExpectedStatus is { } expected && result.Status != expected)
        {
            return $"expected {expected}, got {result.Status}";
        }

        if (fuzz.ExpectedStatuses is { } expectedAny && !expectedAny.Contains(result.Status))
        {
            return $"expected one of {string.Join("/", expectedAny)}, got {result.Status}";
        }

        return null;
    }

    private void Report(IReadOnlyList<FuzzResult> results, TimeSpan elapsed)
    {
        output.WriteLine($"{results.Count} requests (seed {Seed}, {Concurrency} at a time, {results.Sum(r => (long)r.Case.Body.Length) / (1024 * 1024)} MB of bodies) generated and sent in {elapsed.TotalSeconds:0.0} s");
        output.WriteLine("by status: " + string.Join(", ", results.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{(g.Key == 0 ? "no answer" : g.Key.ToString(CultureInfo.InvariantCulture))} x{g.Count()}")));
        foreach (var category in results.GroupBy(r => r.Case.Category).OrderBy(g => g.Key))
        {
            output.WriteLine($"  {category.Key,-16} {category.Count(),5}: " + string.Join(", ", category.GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}")));
        }

        foreach (var slow in results.Where(r => r.Case.Transport == FuzzTransport.Slow))
        {
            output.WriteLine($"  slow body to {slow.Case.Target} ({string.Join(", ", slow.Case.Headers.Select(h => h.Value))}): {(slow.Status == 0 ? slow.NoAnswer : slow.Status.ToString(CultureInfo.InvariantCulture))} after {slow.Elapsed.TotalSeconds:0.0} s");
        }

        foreach (var noAnswer in results.Where(r => r.Status == 0 && r.Case.Transport != FuzzTransport.Slow).GroupBy(r => r.NoAnswer).Take(10))
        {
            output.WriteLine($"  no answer x{noAnswer.Count()}: {noAnswer.Key} (e.g. #{noAnswer.First().Case.Index} {noAnswer.First().Case.Category})");
        }
    }
}
