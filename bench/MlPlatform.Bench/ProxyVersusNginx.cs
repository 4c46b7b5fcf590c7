using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MlPlatform.TestSupport;

namespace MlPlatform.Bench;

/// <summary>
/// P1: the gateway as a plain reverse proxy (no key-auth, no rate limit) against nginx proxying to the same
/// upstream, both loaded by wrk in the same run: what YARP and the gateway's middleware cost next to the
/// proxy most ingresses run.
/// </summary>
internal static class ProxyVersusNginx
{
    public const string Id = "proxy-vs-nginx";

    private const int Connections = 16;
    private const string Path = "/v2/models/tiny/ready";

    public static async Task RunAsync(BenchSettings settings)
    {
        await using var upstream = await CheapUpstream.StartAsync();
        await using var gateway = await ServiceProcess.StartGatewayAsync(GatewayPolicy.Settings(upstream.Address, auth: false, rateLimit: null));
        await using var nginx = await NginxProxy.StartAsync(upstream.Address);
        await using var bareYarp = await ServiceProcess.StartAsync("bench/MlPlatform.Bench", "MlPlatform.Bench", new Dictionary<string, string?>
        {
            [EmptyWebApp.RoleVariable] = BareYarp.Role,
            [BareYarp.UpstreamVariable] = upstream.Address.ToString(),
        }, readyPath: Path);

        var targets = new (string Name, Uri Url)[]
        {
            ("nginx (reference)", new Uri(nginx.Address, Path)),
            ("gateway", new Uri(gateway.BaseAddress, Path)),
            ("YARP alone (no gateway middleware)", new Uri(bareYarp.BaseAddress, Path)),
        };
        foreach (var (_, url) in targets)
        {
            await Wrk.RunAsync(url, Connections, settings.Warmup);
        }

        // Interleaved rounds, so drift in the machine's speed falls on both alike.
        var results = targets.Select(_ => new List<WrkResult>()).ToArray();
        for (var round = 0; round < settings.Rounds; round++)
        {
            for (var i = 0; i < targets.Length; i++)
            {
                results[i].Add(await Wrk.RunAsync(targets[i].Url, Connections, settings.Duration));
                Console.WriteLine($"round {round + 1}: {targets[i].Name}: {results[i][^1]}");
            }
        }

        var rates = results.Select(r => r.Average(x => x.RequestsPerSecond)).ToArray();
        var ratio = rates[1] / rates[0];
        Console.WriteLine($"gateway / nginx = {ratio:F2}x (goal at least 0.9x)");
        var body = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"`GET {Path}` to an in-process Kestrel upstream answering 15 bytes, through the gateway (Release build, no key-auth, no rate limit, its own process) and through nginx {nginx.Version} (`worker_processes auto`, upstream keepalive, access log off). Load from wrk {Wrk.Version()} (1 thread, {Connections} connections), {settings.Rounds} interleaved rounds of {settings.Duration.TotalSeconds:F0} s each. Errors (non-2xx and socket errors): {results.Sum(r => r.Sum(x => x.Errors))}.")
            .AppendLine()
            .AppendLine("| proxy | requests/s | p50 ms | p99 ms | ratio to nginx |")
            .AppendLine("| --- | ---: | ---: | ---: | ---: |");
        for (var i = 0; i < targets.Length; i++)
        {
            body.AppendLine(CultureInfo.InvariantCulture, $"| {targets[i].Name} | {rates[i]:F0} | {results[i].Median(r => r.P50Milliseconds):F2} | {results[i].Median(r => r.P99Milliseconds):F2} | {rates[i] / rates[0]:F2}x |");
        }

        body.AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"**gateway / nginx = {ratio:F2}x** (goal: at least 0.9x; {(ratio >= 0.9 ? "met" : "not met")}). YARP alone, in a process of its own with one catch-all route and nothing else, reaches {rates[2] / rates[0]:F2}x in the same run: the gateway's own middleware (request id, route-group policy, admission, retry, upstream timing, metrics) costs {Math.Max(0, 1 - (rates[1] / rates[2])):P0} of YARP's rate here, and the rest of the gap to nginx is YARP, Kestrel and SocketsHttpHandler themselves on two cores shared with wrk and the upstream.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Reproduce: `{settings.Command(Id)}`");
        ResultsFile.WriteSection(Id, "P1 gateway pass-through vs nginx", body.ToString());
    }

    /// <summary>Debian's nginx as a reverse proxy to one upstream, in a folder of its own, stopped on dispose.</summary>
    private sealed class NginxProxy(Process process, string directory, Uri address, string version) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public string Version { get; } = version;

        public static async Task<NginxProxy> StartAsync(Uri upstream)
        {
            var directory = Directory.CreateTempSubdirectory("mlplatform-nginx-").FullName;
            var port = FreePort();
            File.WriteAllText(System.IO.Path.Combine(directory, "nginx.conf"), $$"""
                daemon off;
                worker_processes auto;
                pid {{directory}}/nginx.pid;
                error_log {{directory}}/error.log warn;
                events { worker_connections 1024; }
                http {
                    access_log off;
                    client_body_temp_path {{directory}}/body;
                    proxy_temp_path {{directory}}/proxy;
                    fastcgi_temp_path {{directory}}/fastcgi;
                    uwsgi_temp_path {{directory}}/uwsgi;
                    scgi_temp_path {{directory}}/scgi;
                    upstream backend {
                        server {{upstream.Host}}:{{upstream.Port}};
                        keepalive 64;
                    }
                    server {
                        listen 127.0.0.1:{{port}};
                        location / {
                            proxy_pass http://backend;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                        }
                    }
                }
                """);
            var start = new ProcessStartInfo("nginx") { UseShellExecute = false, RedirectStandardError = true };
            foreach (var argument in (string[])["-p", directory, "-c", System.IO.Path.Combine(directory, "nginx.conf")])
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start; install it with apt-get install nginx");
            var address = new Uri($"http://127.0.0.1:{port}");
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            for (var attempt = 0; ; attempt++)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
                }

                try
                {
                    using var response = await client.GetAsync(new Uri(address, Path));
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (attempt < 50)
                {
                }

                await Task.Delay(100);
            }

            return new NginxProxy(process, directory, address, await VersionAsync());
        }

        private static async Task<string> VersionAsync()
        {
            // nginx -v prints "nginx version: nginx/1.22.1" on standard error.
            using var process = Process.Start(new ProcessStartInfo("nginx", "-v") { RedirectStandardError = true, UseShellExecute = false })!;
            var text = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return text.Trim().Split('/').Last();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}
