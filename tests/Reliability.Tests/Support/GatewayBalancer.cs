using System.Net.Sockets;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>An answer of a gateway, and which one gave it.</summary>
internal sealed record BalancedResponse(HttpResponseMessage Response, int Gateway, string? RetriedAfter) : IDisposable
{
    public void Dispose() => Response.Dispose();
}

/// <summary>
/// A client of the gateways as a load balancer in front of them retries (an Ingress, a cloud load balancer): only on
/// a connection failure before any response, once more: refused (the gateway is restarting), reset, or closed before
/// a single response byte (the gateway died with the request in flight; HAProxy's <c>retry-on empty-response</c>,
/// Envoy's <c>reset</c>). Given one address (DCP's proxy over every gateway replica), the retry goes through the
/// proxy again, to a replica that is up. Predict is a pure function, so sending it again is safe. Any response, an
/// error status included, is the client's answer, and so is a failure of both attempts: the drills count those.
/// </summary>
internal sealed class GatewayBalancer : IDisposable
{
    public const string ApiKey = "dev-key-change-me";

    private readonly HttpClient[] _gateways;
    private int _next = -1;

    public GatewayBalancer(Uri gateway, bool withApiKey = true)
        : this([gateway], withApiKey)
    {
    }

    public GatewayBalancer(IEnumerable<Uri> gateways, bool withApiKey = true)
    {
        _gateways = gateways.Select(address =>
        {
            var client = new HttpClient(new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                // DCP's proxy balances connections: a gateway started again gets clients only on new ones, as behind a cloud load balancer.
                PooledConnectionLifetime = TimeSpan.FromSeconds(1),
                UseCookies = false,
                AllowAutoRedirect = false,
            })
            {
                BaseAddress = address,
                // Far past any recovery: a request that hangs this long is a failure worth seeing, not a timing flake.
                Timeout = TimeSpan.FromSeconds(100),
            };
            if (withApiKey)
            {
                client.DefaultRequestHeaders.Add("apikey", ApiKey);
            }

            return client;
        }).ToArray();
    }

    public int Count => _gateways.Length;

    /// <summary>Sends a request made by <paramref name="create"/> (called again for the retry, a message is sent once).</summary>
    /// <exception cref="HttpRequestException">The gateway failed, or both did.</exception>
    public async Task<BalancedResponse> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken = default)
    {
        var first = (int)((uint)Interlocked.Increment(ref _next) % (uint)_gateways.Length);
        return await SendToAsync(first, create, cancellationToken);
    }

    /// <summary>Sends to one gateway first, then as <see cref="SendAsync"/> would.</summary>
    public async Task<BalancedResponse> SendToAsync(int gateway, Func<HttpRequestMessage> create, CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = create();
            return new(await _gateways[gateway].SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), gateway, null);
        }
        catch (HttpRequestException exception) when (IsConnectionFailure(exception))
        {
            var other = (gateway + 1) % _gateways.Length;
            using var request = create();
            try
            {
                return new(await _gateways[other].SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken), other, Describe(exception));
            }
            catch (HttpRequestException second)
            {
                throw new HttpRequestException($"failed on both gateways: gateway-{gateway}: {Describe(exception)}; gateway-{other}: {Describe(second)}", second);
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
        foreach (var client in _gateways)
        {
            client.Dispose();
        }
    }
}
