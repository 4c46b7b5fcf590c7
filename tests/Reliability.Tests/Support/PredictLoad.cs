using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>One predict request of the load: when it was sent and what came back.</summary>
internal sealed record LoadOutcome(int Client, TimeSpan SentAt, int Status, string? Failure, string? RetriedAfter, long? RemainingHour)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// Steady predict traffic: <c>clients</c> loops, each posting a PNG through the gateway and sending the next
/// as soon as the answer is in, the way a busy client population does. Every answer is kept for the drill to
/// judge: anything but 2xx, or no answer at all, is a failure.
/// </summary>
internal sealed class PredictLoad : IAsyncDisposable
{
    private readonly RetryingGatewayClient _gateway;
    private readonly IReadOnlyList<byte[]> _images;
    private readonly List<LoadOutcome> _outcomes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _clients;

    private PredictLoad(RetryingGatewayClient gateway, IReadOnlyList<byte[]> images, int clients)
    {
        _gateway = gateway;
        _images = images;
        _clients = Enumerable.Range(0, clients).Select(client => Task.Run(() => RunClientAsync(client))).ToArray();
    }

    public static PredictLoad Start(RetryingGatewayClient gateway, IReadOnlyList<byte[]> images, int clients = 8) => new(gateway, images, clients);

    /// <summary>Time since the load started, the clock of <see cref="LoadOutcome.SentAt"/>.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public int ClientCount => _clients.Length;

    public IReadOnlyList<LoadOutcome> Outcomes
    {
        get
        {
            lock (_outcomes)
            {
                return [.. _outcomes];
            }
        }
    }

    /// <summary>Whether every client has had <paramref name="perClient"/> successes among requests sent at or after <paramref name="since"/>.</summary>
    public bool EveryClientSucceededSince(TimeSpan since, int perClient)
    {
        var counts = new int[_clients.Length];
        foreach (var outcome in Outcomes)
        {
            if (outcome.Succeeded && outcome.SentAt >= since)
            {
                counts[outcome.Client]++;
            }
        }

        return counts.All(count => count >= perClient);
    }

    private async Task RunClientAsync(int client)
    {
        var next = client;
        while (!_stop.IsCancellationRequested)
        {
            var image = _images[next++ % _images.Count];
            var sentAt = _clock.Elapsed;
            LoadOutcome outcome;
            try
            {
                using var answer = await _gateway.SendAsync(() =>
                {
                    var content = new ByteArrayContent(image);
                    content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
                    return new HttpRequestMessage(HttpMethod.Post, "/v1/models/mnist:predict") { Content = content };
                });
                var response = answer.Response;
                var body = await response.Content.ReadAsStringAsync();
                long? remaining = response.Headers.TryGetValues("X-RateLimit-Remaining-Hour", out var values)
                    ? long.Parse(values.First(), CultureInfo.InvariantCulture)
                    : null;
                var status = (int)response.StatusCode;
                var failure = response.IsSuccessStatusCode ? null : $"the gateway answered {status}: {Shorten(body)}";
                outcome = new LoadOutcome(client, sentAt, status, failure, answer.RetriedAfter, remaining);
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or TaskCanceledException)
            {
                outcome = new LoadOutcome(client, sentAt, 0, $"no answer: {RetryingGatewayClient.Describe(exception)}", null, null);
            }

            lock (_outcomes)
            {
                _outcomes.Add(outcome);
            }
        }
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>Stops sending; requests in flight finish and are counted.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
