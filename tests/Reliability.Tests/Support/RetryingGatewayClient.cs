using System.Net.Sockets;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>An answer of the gateway, and the failure of the first attempt when it took a second.</summary>
internal sealed record GatewayAnswer(HttpResponseMessage Response, string? RetriedAfter) : IDisposable
{
    public void Dispose() => Response.Dispose();
}

/// <summary>
/// A client of the gateway as a load balancer in front of it retries (an Ingress, a cloud load balancer): only on a
/// connection failure before any response, once more: refused (a gateway replica is restarting), reset, or closed
/// before a single response byte (the replica died with the request in flight; HAProxy's <c>retry-on
/// empty-response</c>, Envoy's <c>reset</c>). The address is one for every gateway replica (DCP's proxy, a Service),
/// so the retry goes through it again, to a replica that is up. Predict is a pure function, so sending it again is
/// safe. Any response, an error status included, is the client's answer, and so is a failure of both attempts: the
/// drills count those.
/// </summary>
internal sealed class RetryingGatewayClient : IDisposable
{
    public const string ApiKey = "dev-key-change-me";

    private readonly HttpClient _client;

    public RetryingGatewayClient(Uri gateway, bool withApiKey = true)
    {
        _client = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // DCP's proxy balances connections: a gateway started again gets clients only on new ones, as behind a cloud load balancer.
            PooledConnectionLifetime = TimeSpan.FromSeconds(1),
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
            _client.DefaultRequestHeaders.Add("apikey", ApiKey);
        }
    }

    /// <summary>Sends a request made by <paramref name="create"/> (called again for the retry, a message is sent once).</summary>
    /// <exception cref="HttpRequestException">Both attempts failed.</exception>
    public async Task<GatewayAnswer> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = create();
            return new(await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), null);
        }
        catch (HttpRequestException exception) when (IsConnectionFailure(exception))
        {
            using var request = create();
            try
            {
                return new(await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), Describe(exception));
            }
            catch (HttpRequestException second)
            {
                throw new HttpRequestException($"failed twice: first {Describe(exception)}; then {Describe(second)}", second);
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

    public void Dispose() => _client.Dispose();
}
