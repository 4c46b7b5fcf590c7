using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace MlPlatform.Reliability.Tests.Support;

/// <summary>
/// Just enough of the Redis protocol (RESP) to look at the gateways' counters from outside: the drills
/// check what is in Redis without a client library the gateway itself uses.
/// </summary>
internal static class RedisCommands
{
    /// <summary>The keys matching <paramref name="pattern"/> (<c>KEYS</c>: fine on a test server with a handful).</summary>
    public static async Task<IReadOnlyList<string>> KeysAsync(int port, string pattern)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        var stream = client.GetStream();
        var command = $"*2\r\n$4\r\nKEYS\r\n${Encoding.UTF8.GetByteCount(pattern).ToString(CultureInfo.InvariantCulture)}\r\n{pattern}\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command), timeout.Token);

        var reader = new RespReader(stream);
        var header = await reader.ReadLineAsync(timeout.Token);
        if (header[0] != '*')
        {
            throw new InvalidOperationException($"KEYS answered '{header}'");
        }

        var keys = new List<string>();
        for (var count = int.Parse(header.AsSpan(1), CultureInfo.InvariantCulture); keys.Count < count;)
        {
            await reader.ReadLineAsync(timeout.Token);
            keys.Add(await reader.ReadLineAsync(timeout.Token));
        }

        return keys;
    }

    private sealed class RespReader(NetworkStream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline > 0)
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, newline - 1 - _start);
                    _start = newline + 1;
                    return line;
                }

                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }

                var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
                if (read == 0)
                {
                    throw new IOException("Redis closed the connection mid-reply");
                }

                _end += read;
            }
        }
    }
}
