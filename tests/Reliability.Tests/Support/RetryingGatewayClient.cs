using System.Net.Sockets;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>An answer of the gateway, and the failures of the attempts before it when it took a retry.</summary>
internal sealed record GatewayAnswer(HttpResponseMessage Response, string? RetriedAfter) : IDisposable
{
    public void Dispose() => Response.Dispose();
}

/// <summary>
/// A client of the gateway as a load balancer in front of it retries (an Ingress, a cloud load balancer): only on a
/// connection failure before any response: refused (a gateway replica is restarting), reset, or closed before a
/// single response byte (the replica died with the request in flight; HAProxy's <c>retry-on empty-response</c>,
/// Envoy's <c>reset</c>). A retry goes on a new connection, as a load balancer's goes to a new upstream: an idle
/// pooled connection may lead to the same dead replica, its close not yet seen. The address is one for every gateway
/// replica (DCP's proxy, a Service), so a retry goes through it again; it may still pick the dead replica in the
/// moment before it notices, so a second retry follows a short backoff, as Envoy's retry policy backs off. Predict is
/// a pure function, so sending it again is safe. Any response, an error status included, is the client's answer, and
/// so is a failure of every attempt: the drills count those.
/// </summary>
internal sealed class RetryingGatewayClient : IDisposable
{
    public const string ApiKey = "dev-key-change-me";

    private static readonly TimeSpan[] RetryBackoff = [TimeSpan.Zero, TimeSpan.FromMilliseconds(100)];

    private readonly HttpClient _client;
    private readonly HttpClient _retryClient;

    public RetryingGatewayClient(Uri gateway, bool withApiKey = true)
    {
        // DCP's proxy balances connections: a gateway started again gets clients only on new ones, as behind a cloud load balancer.
        _client = Create(gateway, withApiKey, TimeSpan.FromSeconds(1));
        _retryClient = Create(gateway, withApiKey, TimeSpan.Zero);
    }

    private static HttpClient Create(Uri gateway, bool withApiKey, TimeSpan connectionLifetime)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // Zero: a connection serves one request and is never taken from the pool again.
            PooledConnectionLifetime = connectionLifetime,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            BaseAddress = gateway,
            // Far past any recovery: a request that hangs this long is a failure worth seeing, not a timing flake.
            Timeout = TimeSpan.FromSeconds(100),
        };
        if (withApiKey)
        {
            client.DefaultRequestHeaders.Add("apikey", ApiKey);
        }

        return client;
    }

    /// <summary>Sends a request made by <paramref name="create"/> (called again for each retry, a message is sent once).</summary>
    /// <exception cref="HttpRequestException">Every attempt failed.</exception>
    public async Task<GatewayAnswer> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken = default)
    {
        HttpRequestException first;
        try
        {
            using var request = create();
            return new(await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), null);
        }
        catch (HttpRequestException exception) when (IsConnectionFailure(exception))
        {
            first = exception;
        }

        var failures = new List<string> { Describe(first) };
        for (var retry = 0; ; retry++)
        {
            await Task.Delay(RetryBackoff[retry], cancellationToken);
            try
            {
                using var request = create();
                return new(await _retryClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), string.Join("; then ", failures));
            }
            catch (HttpRequestException exception) when (retry + 1 < RetryBackoff.Length && IsConnectionFailure(exception))
            {
                failures.Add(Describe(exception));
            }
            catch (HttpRequestException exception)
            {
                failures.Add(Describe(exception));
                throw new HttpRequestException($"failed {failures.Count} times: {string.Join("; then ", failures)}", exception);
            }
        }
    }

    /// <summary>
    /// A failure of the connection before any response: SendAsync (headers read) threw, so no status line came. A process
    /// killed with the request in flight shows as a reset (SocketException) when it had unread bytes, as an end of
    /// stream (ResponseEnded) when it had not; which one is up to the kernel, so both count.
    /// </summary>
    public static bool IsConnectionFailure(HttpRequestException exception)
    {
        if (exception.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.ResponseEnded)
        {
            return true;
        }

        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException)
            {
                return true;
            }
        }

        return false;
    }

    public static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (Exception? inner = exception; inner is not null; inner = inner.InnerException)
        {
            parts.Add(inner is SocketException socket ? $"{inner.GetType().Name}({socket.SocketErrorCode})" : $"{inner.GetType().Name}: {inner.Message}");
        }

        return string.Join(" <- ", parts);
    }

    public void Dispose()
    {
        _client.Dispose();
        _retryClient.Dispose();
    }
}
