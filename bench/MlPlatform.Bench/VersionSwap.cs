using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MlPlatform.Contracts.Protocol;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// P10: a new version of mnist loaded and the old one unloaded while 8 clients predict, in explicit model control
/// mode: the requests that fail (goal 0), the seconds from the load call until the new version answers, and the
/// throughput around the swap against the same clients' steady throughput before it.
/// </summary>
internal static class VersionSwap
{
    public const string Id = "version-swap";

    private const int Clients = 8;

    public static async Task RunAsync(BenchSettings settings)
    {
        var repository = Directory.CreateTempSubdirectory("mlplatform-bench-").FullName;
        try
        {
            var model = Path.Combine(repository, "mnist");
            Folders.Copy(RepositoryPaths.InRoot("models", "mnist"), model);
            await using var service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", new Dictionary<string, string?>(BenchApplication.QuietLogging())
            {
                ["Inference__ModelRepository"] = repository,
                ["Inference__ModelControlMode"] = "explicit",
                ["Inference__StartupModels__0"] = "*",
            });
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Clients }) { BaseAddress = service.BaseAddress };
            var requests = new MnistRequests();
            await LoadGenerator.RunAsync(http, requests.Infer, Clients, settings.Warmup);

            var rows = new StringBuilder();
            var totalFailed = 0;
            for (var round = 0; round < settings.Rounds; round++)
            {
                var oldVersion = round + 1;
                var newVersion = round + 2;
                await using var load = new VersionedLoad(http, requests, Clients);
                await Task.Delay(settings.Duration);
                var steadyRate = load.RateSince(TimeSpan.Zero);

                Folders.Copy(Path.Combine(model, oldVersion.ToString(CultureInfo.InvariantCulture)), Path.Combine(model, newVersion.ToString(CultureInfo.InvariantCulture)));
                var swapStarted = load.Elapsed;
                var loadCall = Stopwatch.StartNew();
                await LoadAsync(http);
                var loadSeconds = loadCall.Elapsed.TotalSeconds;
                var firstNew = await load.FirstAnswerOfAsync(newVersion.ToString(CultureInfo.InvariantCulture));

                Directory.Delete(Path.Combine(model, oldVersion.ToString(CultureInfo.InvariantCulture)), recursive: true);
                var unloadCall = Stopwatch.StartNew();
                await LoadAsync(http);
                var unloadSeconds = unloadCall.Elapsed.TotalSeconds;
                var swapEnded = load.Elapsed;
                await Task.Delay(TimeSpan.FromSeconds(1));

                var (completed, failed, failures) = await load.StopAsync();
                var swapRate = load.RateBetween(swapStarted, swapEnded + TimeSpan.FromSeconds(1));
                totalFailed += failed;
                Console.WriteLine($"round {round + 1}: v{oldVersion}->v{newVersion}: {completed} answered, {failed} failed; load {loadSeconds:F2} s, new version first answered {(firstNew - swapStarted).TotalSeconds:F2} s after the call; {string.Join(" | ", failures.Take(3))}");
                rows.AppendLine(CultureInfo.InvariantCulture,
                    $"| {round + 1} | v{oldVersion} → v{newVersion} | {completed:N0} | {failed} | {loadSeconds:F2} | {(firstNew - swapStarted).TotalSeconds:F2} | {unloadSeconds:F2} | {steadyRate:F0} | {swapRate:F0} | {swapRate / steadyRate:F2}x |");
            }

            var body = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"The inference service (Release) in explicit model control mode serves the bundled mnist; {Clients} clients call `POST /v2/models/mnist/infer` (binary tensors, no version named) back to back. Each round copies the served version to a new version folder, calls `POST /v2/repository/models/mnist/load` (the new version loads, warms up and takes over), then deletes the old folder and calls load again (the old version unloads once its requests are done). The reference is the same clients' throughput in the {settings.Duration.TotalSeconds:F0} s before the swap.")
                .AppendLine()
                .AppendLine("| round | swap | answered | failed | load call s | new version serves after s | unload call s | steady req/s (reference) | req/s during the swap | during / steady |")
                .AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
                .Append(rows)
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"**{totalFailed} failed requests** over {settings.Rounds} swaps (goal: 0). \"During the swap\" runs from the first load call to one second after the unload call.")
                .AppendLine()
                .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
            ResultsFile.WriteSection(Id, "P10: a version loaded and the old one unloaded under load", body.ToString());
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    private static async Task LoadAsync(HttpClient http)
    {
        using var response = await http.PostAsync("/v2/repository/models/mnist/load", null);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"load answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Clients in a closed loop that note when each answer came and which version gave it.</summary>
    private sealed class VersionedLoad : IAsyncDisposable
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<(TimeSpan At, string Version)> _answers = new();
        private readonly ConcurrentQueue<string> _failures = new();
        private readonly Task[] _clients;
        private int _failed;

        public VersionedLoad(HttpClient http, MnistRequests requests, int clients) =>
            _clients = Enumerable.Range(0, clients).Select(_ => Task.Run(() => RunAsync(http, requests))).ToArray();

        public TimeSpan Elapsed => _clock.Elapsed;

        public double RateSince(TimeSpan from) => RateBetween(from, _clock.Elapsed);

        public double RateBetween(TimeSpan from, TimeSpan to) =>
            _answers.Count(a => a.At >= from && a.At < to) / (to - from).TotalSeconds;

        public async Task<TimeSpan> FirstAnswerOfAsync(string version)
        {
            var deadline = _clock.Elapsed + TimeSpan.FromSeconds(60);
            while (_clock.Elapsed < deadline)
            {
                foreach (var answer in _answers)
                {
                    if (answer.Version == version)
                    {
                        return answer.At;
                    }
                }

                await Task.Delay(10);
            }

            throw new TimeoutException($"version {version} did not answer within 60 s");
        }

        public async Task<(int Completed, int Failed, IReadOnlyList<string> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_clients);
            return (_answers.Count, _failed, [.. _failures]);
        }

        private async Task RunAsync(HttpClient http, MnistRequests requests)
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var request = requests.Infer();
                    using var response = await http.SendAsync(request);
                    var body = await response.Content.ReadAsByteArrayAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Fail($"{(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
                        continue;
                    }

                    var lengths = response.Headers.TryGetValues(ProtocolParameters.HeaderContentLength, out var values)
                        ? values
                        : response.Content.Headers.GetValues(ProtocolParameters.HeaderContentLength);
                    var headerLength = int.Parse(lengths.First(), CultureInfo.InvariantCulture);
                    using var header = JsonDocument.Parse(body.AsMemory(0, headerLength));
                    _answers.Enqueue((_clock.Elapsed, header.RootElement.GetProperty("model_version").GetString()!));
                }
                catch (Exception exception) when (!_stop.IsCancellationRequested)
                {
                    Fail(exception.Message);
                }
                catch (Exception)
                {
                    // Cut short by the stop: not the server's failure.
                }
            }
        }

        private void Fail(string reason)
        {
            Interlocked.Increment(ref _failed);
            _failures.Enqueue(reason);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested)
            {
                await StopAsync();
            }

            _stop.Dispose();
        }
    }
}
