using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using MlPlatform.Reliability.Tests.Support;

namespace MlPlatform.Reliability.Tests.Fuzz;

/// <summary>What came back for one case: a status, or 0 with why there was none.</summary>
internal sealed record FuzzResult(FuzzCase Case, int Status, string? NoAnswer, bool Hung, string ResponsePrefix, TimeSpan Elapsed);

/// <summary>Sends fuzz cases to one gateway: through HttpClient where it can carry them, over a bare socket where it cannot.</summary>
internal sealed class FuzzSender(Uri gateway) : IDisposable
{
    /// <summary>Past this a request counts as hung: every malformed request is refused long before.</summary>
    public static readonly TimeSpan AnswerDeadline = TimeSpan.FromSeconds(30);

    /// <summary>A slow body waits out Kestrel's minimum data rate (240 B/s after a 5 s grace) first.</summary>
    public static readonly TimeSpan SlowAnswerDeadline = TimeSpan.FromSeconds(60);

    private const int KeptResponseBytes = 600;

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        MaxConnectionsPerServer = 64,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<FuzzResult> SendAsync(FuzzCase fuzz)
    {
        var watch = Stopwatch.StartNew();
        var (status, noAnswer, hung, prefix) = fuzz.Transport switch
        {
            FuzzTransport.Slow => await SendSlowAsync(fuzz),
            FuzzTransport.Raw => await SendRawAsync(fuzz.RawBytes!, AnswerDeadline),
            _ => await SendWithClientAsync(fuzz),
        };
        return new FuzzResult(fuzz, status, noAnswer, hung, prefix, watch.Elapsed);
    }

    private async Task<(int, string?, bool, string)> SendWithClientAsync(FuzzCase fuzz)
    {
        HttpRequestMessage request;
        try
        {
            request = CreateRequest(fuzz);
        }
        catch (Exception exception) when (exception is UriFormatException or FormatException or InvalidOperationException or ArgumentException)
        {
            // HttpClient will not carry this one (an odd target or header); the socket will, byte for byte.
            return await SendRawAsync(Compose(fuzz), AnswerDeadline);
        }

        using (request)
        using (var deadline = new CancellationTokenSource(AnswerDeadline))
        {
            try
            {
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
                var body = await ReadPrefixAsync(await response.Content.ReadAsStreamAsync(deadline.Token), deadline.Token);
                return ((int)response.StatusCode, null, false, body);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                return (0, $"no answer within {AnswerDeadline.TotalSeconds:0} s", true, "");
            }
            catch (HttpRequestException exception)
            {
                return (0, RetryingGatewayClient.Describe(exception), false, "");
            }
        }
    }

    private HttpRequestMessage CreateRequest(FuzzCase fuzz)
    {
        if (fuzz.Headers.Any(h => h.Value.Any(c => c is > '\u007E' or (< ' ' and not '\t'))))
        {
            throw new FormatException("HttpClient sends ASCII header values only");
        }

        var uri = new Uri(gateway.GetLeftPart(UriPartial.Authority) + fuzz.Target, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        var request = new HttpRequestMessage(new HttpMethod(fuzz.Method), uri);
        var contentType = fuzz.Headers.Where(h => h.Key == "Content-Type").Select(h => h.Value).FirstOrDefault();
        if (fuzz.Body.Length > 0 || contentType is not null)
        {
            request.Content = new ByteArrayContent(fuzz.Body);
        }

        foreach (var (name, value) in fuzz.Headers)
        {
            if (name == "Content-Type")
            {
                request.Content!.Headers.TryAddWithoutValidation(name, value);
            }
            else if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return request;
    }

    /// <summary>A case as HTTP/1.1 bytes, for when HttpClient refuses it.</summary>
    private byte[] Compose(FuzzCase fuzz)
    {
        var head = new StringBuilder();
        head.Append(fuzz.Method).Append(' ').Append(fuzz.Target).Append(" HTTP/1.1\r\n");
        head.Append("Host: ").Append(gateway.Authority).Append("\r\n");
        foreach (var (name, value) in fuzz.Headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(fuzz.Body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\nConnection: close\r\n\r\n");
        return [.. Encoding.UTF8.GetBytes(head.ToString()), .. fuzz.Body];
    }

    private async Task<(int, string?, bool, string)> SendRawAsync(byte[] request, TimeSpan answerDeadline)
    {
        using var deadline = new CancellationTokenSource(answerDeadline);
        using var socket = new TcpClient();
        try
        {
            await socket.ConnectAsync(gateway.Host, gateway.Port, deadline.Token);
            var stream = socket.GetStream();
            try
            {
                await stream.WriteAsync(request, deadline.Token);
            }
            catch (IOException)
            {
                // The server may answer and close before taking all of a bad request; its answer is still there to read.
            }

            return await ReadAnswerAsync(stream, deadline, answerDeadline);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (0, $"no answer within {answerDeadline.TotalSeconds:0} s", true, "");
        }
        catch (SocketException exception)
        {
            return (0, $"connect failed: {exception.SocketErrorCode}", false, "");
        }
    }

    /// <summary>Headers, a few bytes of body, then silence with the connection held open: the server must give up on it.</summary>
    private async Task<(int, string?, bool, string)> SendSlowAsync(FuzzCase fuzz)
    {
        using var deadline = new CancellationTokenSource(SlowAnswerDeadline);
        using var socket = new TcpClient();
        var chunked = fuzz.Headers.Any(h => h.Key == "Transfer-Encoding");
        try
        {
            await socket.ConnectAsync(gateway.Host, gateway.Port, deadline.Token);
            var stream = socket.GetStream();
            await stream.WriteAsync(fuzz.RawBytes!, deadline.Token);
            var answer = ReadAnswerAsync(stream, deadline, SlowAnswerDeadline);
            for (var i = 0; i < 4 && !answer.IsCompleted; i++)
            {
                var piece = Encoding.ASCII.GetBytes(new string('{', 16));
                try
                {
                    await stream.WriteAsync(chunked ? [.. "10\r\n"u8, .. piece, .. "\r\n"u8] : piece, deadline.Token);
                }
                catch (IOException)
                {
                    break;
                }

                await Task.Delay(300, deadline.Token);
            }

            return await answer;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (0, $"no answer and no close within {SlowAnswerDeadline.TotalSeconds:0} s", true, "");
        }
        catch (SocketException exception)
        {
            return (0, $"connect failed: {exception.SocketErrorCode}", false, "");
        }
    }

    /// <summary>Reads until the server closes (every raw request asks for that) or enough is in to judge.</summary>
    private static async Task<(int, string?, bool, string)> ReadAnswerAsync(NetworkStream stream, CancellationTokenSource deadline, TimeSpan answerDeadline)
    {
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, deadline.Token);
                if (read == 0)
                {
                    break;
                }

                if (received.Length < 64 * 1024)
                {
                    received.Write(buffer, 0, read);
                }
            }
        }
        catch (IOException) when (received.Length > 0)
        {
            // Reset after the answer: the answer counts.
        }
        catch (IOException exception)
        {
            return (0, $"connection reset without an answer: {exception.InnerException?.Message ?? exception.Message}", false, "");
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && received.Length > 0)
        {
            // An answer came but the connection stayed open: judged by the answer.
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (0, $"no answer within {answerDeadline.TotalSeconds:0} s", true, "");
        }

        var text = Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)Math.Min(received.Length, KeptResponseBytes));
        if (text.Length == 0)
        {
            return (0, "connection closed without an answer", false, "");
        }

        var parts = text.Split(' ', 3);
        return parts.Length >= 2 && parts[0].StartsWith("HTTP/", StringComparison.Ordinal) && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var status)
            ? (status, null, false, text)
            : (0, "an answer that is not HTTP", false, text);
    }

    private static async Task<string> ReadPrefixAsync(Stream stream, CancellationToken cancellationToken)
    {
        var kept = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (kept.Length < KeptResponseBytes)
            {
                kept.Write(buffer, 0, Math.Min(read, KeptResponseBytes - (int)kept.Length));
            }
        }

        return Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
    }

    public void Dispose() => _client.Dispose();
}
