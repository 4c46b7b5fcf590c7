using System.Globalization;
using System.Text;
using MlPlatform.TestSupport;
using SkiaSharp;

namespace MlPlatform.Reliability.Tests.Fuzz;

/// <summary>
/// Generates the fuzz run's requests from a fixed seed: the same seed gives the same requests, in the same
/// order, so a failure names a case that can be generated and sent again. Every public route of the gateway
/// is covered: predict, the proxied <c>/v2</c> protocol (JSON and binary infer), <c>/preprocess</c>,
/// <c>/postprocess</c>, <c>/docs</c> and <c>/openapi</c>, plus the HTTP layer itself (paths, headers, framing).
/// </summary>
internal sealed class FuzzCorpus
{
    public const string ApiKey = "dev-key-change-me";

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO"];

    private static readonly string[] DataTypes =
        ["FP32", "FP32", "FP32", "FP64", "FP16", "BF16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL", "BYTES", "fp32", "", "FP99", "FP32 ", "ＦＰ32"];

    /// <summary>Model names meant to escape their path segment, or to be awkward for whatever stores, logs or forwards them.</summary>
    private static readonly string[] NastyNames =
    [
        "", " ", "%20", "MNIST", "mnist ", "mn ist", "mnist%00", "%00", "..", ".", "../mnist", "..%2fmnist", "%2e%2e%2fmnist", "%2e%2e/%2e%2e/etc/passwd",
        "..%2F..%2F..%2Fetc%2Fpasswd", "..%5c..%5cwindows%5cwin.ini", "%252e%252e%252fmnist", "%c0%ae%c0%ae%c0%afmnist", "mnist%2Fconfig", "mnist%2F..%2F..%2Fhealth",
        "mnist;v=1", "mnist%3Bv=1", "%D0%BC%D0%BE%D0%B4%D0%B5%D0%BB%D1%8C", "%F0%9F%98%80", "%E2%80%AE%E2%80%8Bmnist", "%FF%FE%FD", "%ED%A0%80", "%", "%%", "%zz", "%2",
        "${jndi:ldap:%2F%2Fx}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "'%20OR%201=1--", "mnist:predict", "mnist%3Apredict", "con", "nul", "mnist.", "~mnist", "mnist~1",
        "metrics", "health", "..%2Fmetrics", "%2e%2e%2fhealth", "-1", "0", "9223372036854775808",
    ];

    private static readonly string[] InfrastructureTargets =
    [
        "/preprocess/../health", "/preprocess/%2e%2e/health", "/preprocess/v1/..%2f..%2fmetrics", "/preprocess/%2Fhealth", "/preprocess//health", "/preprocess/HEALTH/",
        "/preprocess/health%2F", "/preprocess/%252Fmetrics", "/preprocess/%5Chealth", "/preprocess/alive/extra", "/postprocess/metrics", "/postprocess/%2e%2e%2fmetrics",
        "/postprocess/./alive", "/postprocess/%2E%2E%2F%2E%2E%2Falive", "/v2/..%2fhealth", "/v2/%2e%2e/alive", "/v2/models/mnist/../../metrics", "/v2/models/..%2F..%2Fmetrics",
        "/v2/health", "/v2/metrics", "/v2/%2E%2E/%2E%2E/metrics", "/v1/models/..%2F..%2Fhealth:predict", "/preprocess", "/postprocess", "/preprocess/", "/v2/", "//v2",
        "/v2//models//mnist", "/v2/models/mnist/infer/", "/v2/models/mnist/infer/extra", "/v2/models/mnist/versions/1/infer", "/v2/models/mnist/versions//infer",
        "/v2/models/mnist/versions/..%2F1/infer", "/v2/models/mnist/versions/-1/config", "/v2/models/mnist/versions/99999999999999999999/ready",
    ];

    private readonly Random _random;
    private readonly byte[][] _pngs;
    private readonly byte[] _smallPng;
    private readonly byte[] _jpeg;
    private readonly byte[] _webp;
    private readonly string _validInstance;
    private int _index;

    private FuzzCorpus(int seed)
    {
        _random = new Random(seed);
        var digits = HoldOutDigits.Load();
        _pngs = [.. Enumerable.Range(0, 4).Select(i => DigitImages.BlackOnWhite(digits[i]))];
        _smallPng = DigitImages.BlackOnWhite(digits[4], size: 28);
        _jpeg = DigitImages.BlackOnWhite(digits[5], format: SKEncodedImageFormat.Jpeg);
        _webp = DigitImages.BlackOnWhite(digits[6], format: SKEncodedImageFormat.Webp);
        // One instance in the model's input shape, [1, 28, 28].
        _validInstance = "[[" + string.Join(",", Enumerable.Range(0, 28).Select(row => "[" + string.Join(",", Enumerable.Range(0, 28).Select(col => digits[0].Pixels[(row * 28) + col].ToString("0.###", CultureInfo.InvariantCulture))) + "]")) + "]]";
    }

    /// <summary>
    /// <paramref name="count"/> requests, sent through HttpClient or a raw socket, made one at a time as they are asked
    /// for: the run sends while it generates, and a sent body can be collected. The order never changes for a seed.
    /// </summary>
    public static IEnumerable<FuzzCase> Generate(int seed, int count)
    {
        var corpus = new FuzzCorpus(seed);
        (int Weight, Func<FuzzCase> Make)[] generators =
        [
            (14, corpus.PredictImage),
            (12, corpus.PredictJson),
            (15, corpus.InferJson),
            (13, corpus.InferBinary),
            (7, corpus.ProtocolRoutes),
            (9, corpus.Preprocess),
            (10, corpus.Postprocess),
            (3, corpus.Docs),
            (8, corpus.Paths),
            (5, corpus.HeaderAbuse),
            (2, corpus.Auth),
            (2, corpus.RawFraming),
        ];
        var total = generators.Sum(g => g.Weight);
        for (var i = 0; i < count; i++)
        {
            var pick = corpus._random.Next(total);
            foreach (var (weight, make) in generators)
            {
                if (pick < weight)
                {
                    yield return make();
                    break;
                }

                pick -= weight;
            }
        }
    }

    /// <summary><paramref name="count"/> slow-body requests, numbered from <paramref name="firstIndex"/>; they need no randomness.</summary>
    public static IReadOnlyList<FuzzCase> SlowBodies(int firstIndex, int count) =>
        Enumerable.Range(0, count).Select(i => SlowBody(firstIndex + i, i)).ToList();

    // ---- predict: POST /v1/models/{model}:predict ----

    private FuzzCase PredictImage()
    {
        var (contentType, body) = BadImage();
        return Client("predict-image", "POST", $"/v1/models/{ModelName()}:predict", body, contentType);
    }

    private FuzzCase PredictJson() =>
        Client("predict-json", "POST", $"/v1/models/{ModelName()}:predict", InstancesBody(), JsonContentType());

    // ---- the proxied Open Inference Protocol ----

    private FuzzCase InferJson()
    {
        var (json, _, _) = InferBody(binary: false, response: false);
        var headers = new List<KeyValuePair<string, string>>();
        if (Chance(0.1))
        {
            // A binary header length on a JSON body: a liar from the first byte.
            headers.Add(new("Inference-Header-Content-Length", HeaderLength(json.Length, json.Length)));
        }

        return Client("v2-infer-json", "POST", InferTarget(), Mutate(json), JsonContentType(), headers);
    }

    private FuzzCase InferBinary()
    {
        var (json, tail, _) = InferBody(binary: true, response: false);
        var body = Concat(json, tail);
        var headers = new List<KeyValuePair<string, string>> { new("Inference-Header-Content-Length", HeaderLength(json.Length, body.Length)) };
        var contentType = Pick(["application/octet-stream", "application/octet-stream", "application/json", "application/vnd.sagemaker-triton.binary+json;json-header-size=" + json.Length.ToString(CultureInfo.InvariantCulture), ""]);
        return Client("v2-infer-binary", "POST", InferTarget(), Chance(0.2) ? Mutate(body) : body, contentType, headers);
    }

    private FuzzCase ProtocolRoutes()
    {
        var model = ModelName();
        var target = Pick([
            "/v2", "/v2/health/live", "/v2/health/ready", "/v2/repository/index", $"/v2/models/{model}", $"/v2/models/{model}/ready", $"/v2/models/{model}/config",
            $"/v2/models/{model}/versions/{Version()}", $"/v2/models/{model}/versions/{Version()}/ready", $"/v2/models/{model}/versions/{Version()}/config",
            $"/v2/models/{model}/infer", "/v2/models", "/v2/repository/models/mnist/load", "/v2/repository/models/mnist/unload", "/v2/models/stats", $"/v2/models/{model}/stats",
        ]);
        var method = Chance(0.6) ? (target.EndsWith("/index", StringComparison.Ordinal) || target.EndsWith("/infer", StringComparison.Ordinal) ? "POST" : "GET") : Pick(Methods);
        var body = method is "GET" or "HEAD" or "TRACE" && Chance(0.8) ? [] : RandomJsonBytes();
        return Client("v2-routes", method, target + Query(), body, body.Length > 0 ? JsonContentType() : null);
    }

    // ---- /preprocess/** and /postprocess/**, prefix removed by the gateway ----

    private FuzzCase Preprocess()
    {
        var target = Chance(0.85) ? $"/preprocess/v1/preprocess/{ModelName()}" : Pick(["/preprocess/v1/preprocess", "/preprocess/v1/preprocess/", "/preprocess/v1", "/preprocess/v2/models/mnist/infer", "/preprocess/v1/preprocess/mnist/extra"]);
        var (contentType, body) = Chance(0.5) ? BadImage() : (JsonContentType(), InstancesBody());
        return Client("preprocess", Chance(0.9) ? "POST" : Pick(Methods), target + Query(), body, contentType);
    }

    private FuzzCase Postprocess()
    {
        var target = Chance(0.85) ? $"/postprocess/v1/postprocess/{ModelName()}" : Pick(["/postprocess/v1/postprocess", "/postprocess/v1/postprocess/", "/postprocess/v1", "/postprocess/v1/postprocess/mnist/x"]);
        var binary = Chance(0.4);
        var (json, tail, _) = InferBody(binary, response: true);
        var headers = new List<KeyValuePair<string, string>>();
        byte[] body;
        string? contentType;
        if (binary)
        {
            body = Concat(json, tail);
            headers.Add(new("Inference-Header-Content-Length", HeaderLength(json.Length, body.Length)));
            contentType = Pick(["application/octet-stream", "application/octet-stream", "application/json", "text/plain", ""]);
        }
        else
        {
            body = json;
            contentType = Chance(0.9) ? "application/json" : Pick(["application/octet-stream", "text/json", "application/json; charset=utf-16", "image/png", ""]);
        }

        return Client("postprocess", Chance(0.92) ? "POST" : Pick(Methods), target + Query(), Chance(0.2) ? Mutate(body) : body, contentType, headers);
    }

    // ---- the gateway's own documents ----

    private FuzzCase Docs()
    {
        var target = Pick(["/docs", "/docs/", "/docs/index.html", "/docs/v1", "/docs/../openapi/v1.json", "/docs/%2e%2e/health", "/openapi/v1.json", "/openapi/v2.json", "/openapi/", "/openapi/v1.json/x", "/openapi/..%2fhealth", "/scalar", "/scalar/v1", "/swagger", "/docs/" + new string('a', _random.Next(1, 3000))]);
        var method = Chance(0.7) ? "GET" : Pick(Methods);
        return Client("docs", method, target + Query(), method is "POST" or "PUT" or "PATCH" ? RandomJsonBytes() : [], method is "POST" or "PUT" or "PATCH" ? "application/json" : null, key: Chance(0.5));
    }

    // ---- paths meant to escape their route ----

    private FuzzCase Paths()
    {
        var target = _random.Next(4) switch
        {
            0 => Pick(InfrastructureTargets),
            1 => $"/v1/models/{NastyName()}:predict",
            2 => Pick(["/v2/models/", "/preprocess/v1/preprocess/", "/postprocess/v1/postprocess/"]) + NastyName() + Pick(["", "/infer", "/config", "/ready", "/versions/1/infer"]),
            _ => "/" + string.Join("/", Enumerable.Range(0, _random.Next(1, 8)).Select(_ => Pick(["..", ".", "%2e%2e", "%2E", "v2", "models", "mnist", "infer", "preprocess", "postprocess", "health", "metrics", "alive", "%2F", "%5C", "", "docs", "openapi", "v1"]))),
        };
        var method = Chance(0.6) ? "POST" : Pick(Methods);
        var (contentType, body) = Chance(0.5) ? ("image/png", _pngs[_random.Next(_pngs.Length)]) : (JsonContentType(), InstancesBody());
        return Client("paths", method, target + Query(), method is "GET" or "HEAD" ? [] : body, method is "GET" or "HEAD" ? null : contentType);
    }

    // ---- the header limits (Kestrel's, 32 KiB and 100 headers, set in Gateway:RouteGroups) and odd header values ----

    private FuzzCase HeaderAbuse()
    {
        var headers = new List<KeyValuePair<string, string>>();
        int[]? expected = null;
        switch (_random.Next(10))
        {
            case 0:
                headers.Add(new("X-Padding", new string('a', _random.Next(40_000, 200_000))));
                expected = [431, 400];
                break;
            case 1:
                for (var i = 0; i < _random.Next(101, 400); i++)
                {
                    headers.Add(new($"X-Many-{i}", "v"));
                }

                expected = [431, 400];
                break;
            case 2:
                for (var i = 0; i < 20; i++)
                {
                    headers.Add(new($"X-Big-{i}", new string('b', 2048)));
                }

                expected = [431, 400];
                break;
            case 3:
                headers.Add(new("X-Request-Id", Pick([new string('r', _random.Next(129, 5000)), "", " ", "id with spaces", "a\tb", "{}", "%00", "../../etc", "<script>"])));
                break;
            case 4:
                headers.Add(new("traceparent", Pick(["00-zzzz-zzzz-01", "00-" + new string('0', 32) + "-" + new string('0', 16) + "-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", new string('0', 5000), ""])));
                headers.Add(new("tracestate", new string('k', _random.Next(1, 8000))));
                break;
            case 5:
                headers.Add(new("X-Consumer-ID", "admin"));
                headers.Add(new("X-Consumer-Username", "root"));
                headers.Add(new("X-Forwarded-For", string.Join(", ", Enumerable.Range(0, _random.Next(1, 500)).Select(i => $"10.0.{i % 256}.{i / 256}"))));
                headers.Add(new("X-Forwarded-Host", "evil.example"));
                headers.Add(new("Forwarded", "for=\"[::1]\";proto=gopher"));
                break;
            case 6:
                headers.Add(new("Accept", Pick(["*/*;q=abc", "application/json;q=2", new string('x', 3000), "text/html"])));
                headers.Add(new("Accept-Encoding", Pick(["gzip, br, zstd", "identity;q=0", "*;q=0", "x"])));
                break;
            case 7:
                headers.Add(new("Range", Pick(["bytes=0-1", "bytes=-1", "bytes=99999999999-", "items=0-5"])));
                headers.Add(new("If-None-Match", "*"));
                headers.Add(new("If-Modified-Since", "yesterday"));
                break;
            case 8:
                headers.Add(new("Origin", Pick(["http://evil.example", "null", "file://", new string('o', 2000)])));
                headers.Add(new("Access-Control-Request-Method", Pick(["POST", "DELETE", "FOO", ""])));
                headers.Add(new("Access-Control-Request-Headers", "apikey, content-type, x-" + new string('h', 100)));
                break;
            default:
                headers.Add(new("Cookie", string.Join("; ", Enumerable.Range(0, _random.Next(1, 200)).Select(i => $"c{i}={new string('v', 50)}"))));
                headers.Add(new("Authorization", Pick(["Bearer x", "Basic !!!", "Key " + ApiKey, new string('z', 1000)])));
                break;
        }

        var (target, body, contentType) = _random.Next(4) switch
        {
            0 => ($"/v1/models/mnist:predict", _pngs[_random.Next(_pngs.Length)], "image/png"),
            1 => ("/v2/models/mnist/infer", InferBody(binary: false, response: false).Json, "application/json"),
            2 => ("/preprocess/v1/preprocess/mnist", Encoding.UTF8.GetBytes("{\"instances\":[" + _validInstance + "]}"), "application/json"),
            _ => ("/docs", Array.Empty<byte>(), (string?)null),
        };
        var fuzz = Client("headers", body.Length == 0 ? Pick(["GET", "OPTIONS"]) : "POST", target, body, contentType, headers);
        // Kestrel answers an oversized head with 431 and closes while the client is still writing it; the reset that
        // follows can discard that answer before the client reads it, so a cut connection is a right answer too.
        return fuzz with { ExpectedStatuses = expected, MayCloseWithoutAnswer = expected is not null };
    }

    // ---- key-auth on well-formed requests: certain answers ----

    private FuzzCase Auth()
    {
        var (method, target, body, contentType) = _random.Next(4) switch
        {
            0 => ("POST", "/v1/models/mnist:predict", _pngs[0], "image/png"),
            1 => ("GET", "/v2/models/mnist", Array.Empty<byte>(), (string?)null),
            2 => ("POST", "/preprocess/v1/preprocess/mnist", _pngs[1], "image/png"),
            _ => ("POST", "/postprocess/v1/postprocess/mnist", InferBody(binary: false, response: true).Json, "application/json"),
        };
        var headers = new List<KeyValuePair<string, string>>();
        switch (_random.Next(5))
        {
            case 0:
                break;
            case 1:
                headers.Add(new("apikey", ""));
                break;
            case 2:
                headers.Add(new("apikey", Pick(["dev-key-change-m", "DEV-KEY-CHANGE-ME", new string('k', 4000), "57c8139db7290a9064aa57837c951138a32df40cca3aca526319f55651368823"])));
                break;
            case 3:
                // Two different keys: Kong's answer is 401 Unauthorized, never the first one's consumer.
                headers.Add(new("apikey", ApiKey));
                headers.Add(new("apikey", "another-key"));
                break;
            default:
                target += "?apikey=wrong&apikey=" + ApiKey;
                headers.Add(new("apikey", ApiKey));
                break;
        }

        var fuzz = Client("auth", method, target, body, contentType, headers, key: false);
        return fuzz with { ExpectedStatus = 401 };
    }

    // ---- framing HttpClient will not produce ----

    private FuzzCase RawFraming()
    {
        var body = Encoding.UTF8.GetBytes("{\"instances\":[" + _validInstance + "]}");
        var key = $"apikey: {ApiKey}\r\n";
        var (what, request, mayClose) = _random.Next(16) switch
        {
            0 => ("non-ASCII header value", $"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\n{key}X-Request-Id: ключ-🙂\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n", false),
            1 => ("NUL in a header value", $"GET /v2/models/mnist HTTP/1.1\r\nHost: x\r\n{key}X-Odd: a\0b\r\nConnection: close\r\n\r\n", false),
            2 => ("space in a header name", $"GET /v2 HTTP/1.1\r\nHost: x\r\n{key}Bad Header: x\r\nConnection: close\r\n\r\n", false),
            3 => ("obsolete line folding", $"GET /v2 HTTP/1.1\r\nHost: x\r\n{key}X-Folded: a\r\n b\r\nConnection: close\r\n\r\n", false),
            4 => ("no Host header", $"GET /v2 HTTP/1.1\r\n{key}Connection: close\r\n\r\n", false),
            5 => ("HTTP/1.0", $"POST /v1/models/mnist:predict HTTP/1.0\r\n{key}Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n", false),
            6 => ("invalid method token", $"G@T /v2 HTTP/1.1\r\nHost: x\r\n{key}Connection: close\r\n\r\n", false),
            7 => ("raw UTF-8 and spaces in the path", $"GET /v2/models/мо дель HTTP/1.1\r\nHost: x\r\n{key}Connection: close\r\n\r\n", false),
            8 => ("negative Content-Length", $"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nContent-Length: -5\r\nConnection: close\r\n\r\n", false),
            9 => ("two Content-Lengths", $"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nContent-Length: {body.Length}\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", false),
            10 => ("Content-Length and chunked", $"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", false),
            11 => ("Content-Length shorter than the body", $"POST /v1/models/mnist:predict HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nContent-Length: 20\r\nConnection: close\r\n\r\n", false),
            12 => ("bad chunk size", $"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", false),
            13 => ("absurd chunk size", $"POST /postprocess/v1/postprocess/mnist HTTP/1.1\r\nHost: x\r\n{key}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffff\r\nabc\r\n", true),
            14 => ("request line past 8 KiB", $"GET /v2/models/{new string('m', 9000)} HTTP/1.1\r\nHost: x\r\n{key}Connection: close\r\n\r\n", false),
            _ => ("absolute-form target", $"GET http://evil.example/v2/models/mnist HTTP/1.1\r\nHost: x\r\n{key}Connection: close\r\n\r\n", false),
        };
        var bytes = Encoding.UTF8.GetBytes(request);
        if (request.Contains("Content-Length: ", StringComparison.Ordinal) && !request.Contains("Content-Length: -", StringComparison.Ordinal))
        {
            bytes = Concat(bytes, body);
        }

        var line = request[..request.IndexOf("\r\n", StringComparison.Ordinal)];
        return new FuzzCase(_index++, "raw", line.Split(' ')[0], what + ": " + line, [], body, FuzzTransport.Raw)
        {
            RawBytes = bytes,
            MayCloseWithoutAnswer = mayClose,
        };
    }

    // ---- slow bodies: a few bytes, then nothing, the connection left open ----

    private static FuzzCase SlowBody(int index, int which)
    {
        var (target, contentType) = (which % 5) switch
        {
            0 => ("/v1/models/mnist:predict", "image/png"),
            1 => ("/v2/models/mnist/infer", "application/json"),
            2 => ("/preprocess/v1/preprocess/mnist", "image/png"),
            3 => ("/postprocess/v1/postprocess/mnist", "application/json"),
            _ => ("/v1/models/mnist:predict", "application/json"),
        };
        var chunked = which % 2 == 1;
        var framing = chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 100000\r\n";
        var head = $"POST {target} HTTP/1.1\r\nHost: x\r\napikey: {ApiKey}\r\nContent-Type: {contentType}\r\n{framing}Connection: close\r\n\r\n";
        return new FuzzCase(index, "slow-body", "POST", target, [new("Content-Type", contentType), new(chunked ? "Transfer-Encoding" : "Content-Length", chunked ? "chunked" : "100000")], [], FuzzTransport.Slow)
        {
            RawBytes = Encoding.ASCII.GetBytes(head),
            // Kestrel's minimum data rate ends it: 408 (or 400) if it answers at all, else the connection is closed.
            ExpectedStatuses = [408, 400],
            MayCloseWithoutAnswer = true,
        };
    }

    // ---- building blocks ----

    private FuzzCase Client(string category, string method, string target, byte[] body, string? contentType, List<KeyValuePair<string, string>>? extra = null, bool key = true)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (key)
        {
            // Most requests carry the key, so they reach the services; some do not, or carry it oddly.
            switch (_random.Next(100))
            {
                case < 90:
                    headers.Add(new("apikey", ApiKey));
                    break;
                case < 95:
                    break;
                case < 97:
                    headers.Add(new("apikey", "wrong-key"));
                    break;
                default:
                    target += (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "apikey=" + ApiKey;
                    break;
            }
        }

        if (contentType is not null)
        {
            headers.Add(new("Content-Type", contentType));
        }

        if (extra is not null)
        {
            headers.AddRange(extra);
        }

        return new FuzzCase(_index++, category, method, target, headers, body, FuzzTransport.Client)
        {
            // A space or control character in the target is sent raw and breaks the request line, a %00 in the path
            // decodes to a NUL Kestrel refuses, and a target near 8 KiB passes Kestrel's request-line limit. Each time
            // Kestrel answers 400 or 414 and closes without reading the body; a body still being written then meets a
            // reset that can discard the answer before the client reads it (HTTP/1.1 has no way round this,
            // dotnet/yarp#1501), so a cut is right too.
            MayCloseWithoutAnswer = body.Length > 0
                && (target.Any(c => c <= ' ' || c == '\u007F') || PathHasEncodedNul(target) || target.Length > KestrelRequestLineLimit - 64),
        };
    }

    /// <summary>Kestrel's default MaxRequestLineSize, which the gateway keeps.</summary>
    private const int KestrelRequestLineLimit = 8 * 1024;

    private static bool PathHasEncodedNul(string target)
    {
        var queryStart = target.IndexOf('?', StringComparison.Ordinal);
        return (queryStart < 0 ? target : target[..queryStart]).Contains("%00", StringComparison.Ordinal);
    }

    private string ModelName() => Chance(0.75) ? "mnist" : NastyName();

    private string NastyName() => _random.Next(5) switch
    {
        0 => new string('a', Pick([64, 255, 256, 1000, 4000, 7000])),
        1 => string.Concat(Enumerable.Range(0, _random.Next(1, 12)).Select(_ => "%" + _random.Next(256).ToString("X2", CultureInfo.InvariantCulture))),
        2 => Uri.EscapeDataString(RandomText(_random.Next(1, 20))),
        _ => Pick(NastyNames),
    };

    private string Version() => Pick(["1", "1", "0", "2", "-1", "01", "1.0", "99999999999999999999", "a", "%2e%2e", "", " "]);

    private string InferTarget() => _random.Next(10) switch
    {
        < 7 => $"/v2/models/{ModelName()}/infer",
        < 9 => $"/v2/models/{ModelName()}/versions/{Version()}/infer",
        _ => Pick(["/v2/models//infer", "/v2/models/mnist/infer/", "/v2/models/mnist/INFER", "/v2/models/mnist/infer?binary=1", "/v2/models/mnist/infer;x"]),
    } + Query();

    private string Query() => _random.Next(20) switch
    {
        0 => "?" + string.Join("&", Enumerable.Range(0, _random.Next(1, 50)).Select(i => $"p{i}={Uri.EscapeDataString(RandomText(5))}")),
        1 => "?%zz=%&&==&a[]=1&a[x]=2",
        2 => "?" + new string('q', _random.Next(1, 6000)),
        _ => "",
    };

    private string JsonContentType() => Chance(0.9) ? "application/json" : Pick(["application/json; charset=utf-8", "APPLICATION/JSON", "text/json", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "text/plain", "", "application/json;;;", "multipart/form-data; boundary=x"]);

    /// <summary>An image body that is wrong in one way or another, now and then a right one.</summary>
    private (string ContentType, byte[] Body) BadImage()
    {
        var png = _pngs[_random.Next(_pngs.Length)];
        var type = Chance(0.85) ? "image/png" : Pick(["image/jpeg", "image/webp", "image/bmp", "image/gif", "image/svg+xml", "application/octet-stream", "IMAGE/PNG", "image/png; q=1", "image/*", ""]);
        return _random.Next(16) switch
        {
            0 => ("image/png", png),
            1 => (type, png[.._random.Next(0, png.Length)]),
            2 => (type, FlipBytes(png, _random.Next(1, 20))),
            3 => (type, RandomBytes(_random.Next(0, 5000))),
            4 => ("image/png", DigitImages.PngHeader(Pick([20_000, 30_000, 65_535, 100_000]), Pick([20_000, 30_000, 65_535, 100_000]))),
            5 => (type, LyingPng(Pick([0, 1, 28, 65_536, 1 << 20, int.MaxValue, -1]), Pick([0, 1, 28, 65_536, 1 << 20, int.MaxValue, -1]))),
            6 => ("image/jpeg", LyingJpeg()),
            7 => ("image/webp", LyingWebp()),
            8 => ("image/bmp", LyingBmp()),
            9 => ("image/gif", Concat("GIF89a"u8.ToArray(), [0xFF, 0xFF, 0xFF, 0xFF], RandomBytes(_random.Next(0, 200)))),
            10 => (type, _smallPng),
            11 => (Chance(0.5) ? "image/jpeg" : "image/png", Chance(0.5) ? _jpeg : _webp),
            12 => (type, []),
            13 => ("image/png", Concat(png, RandomBytes(_random.Next(1, 100_000)))),
            14 => (type, Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"100000\"/>")),
            _ => (type, Concat(png[..8], RandomBytes(_random.Next(0, 2000)))),
        };
    }

    /// <summary>A KServe V1 body for predict and preprocess: near the real shape, and wrong.</summary>
    private byte[] InstancesBody()
    {
        string json = _random.Next(14) switch
        {
            0 => "{\"instances\":[" + _validInstance + "]}",
            1 => "{\"instances\":[" + string.Join(",", Enumerable.Repeat(_validInstance, Pick([2, 64, 65, 100]))) + "]}",
            2 => "{\"instances\":[{\"b64\":\"" + Convert.ToBase64String(_pngs[_random.Next(_pngs.Length)]) + "\"}]}",
            3 => "{\"instances\":[{\"b64\":\"" + Pick(["%%% not base64 %%%", "", "====", "AAAA", Convert.ToBase64String(RandomBytes(300)), Convert.ToBase64String(DigitImages.PngHeader(30_000, 30_000)), "data:image/png;base64,!!", "data:,", "data:image/png;base64," + Convert.ToBase64String(_smallPng)]) + "\"}]}",
            4 => "{\"instances\":[" + RandomShapedArray() + "]}",
            5 => "{\"instances\":" + RandomJson(3) + "}",
            6 => RandomJson(4),
            7 => "{\"instances\":[{\"b64\":" + RandomJson(1) + "}]}",
            8 => "{\"instances\":[{\"b64\":\"AAAA\",\"extra\":1}], \"instances\": []}",
            9 => "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,1,28,28],\"datatype\":\"FP32\",\"data\":[0]}]}",
            10 => new string('[', _random.Next(10, 5000)) + new string(']', _random.Next(0, 5000)),
            11 => "{\"instances\":[[[" + string.Join(",", Enumerable.Range(0, 28).Select(_ => "[" + string.Join(",", Enumerable.Range(0, 28).Select(_ => Pick(["1e400", "-1e400", "NaN", "\"0\"", "null", "true", "0.5", "-0", "1e-400", "Infinity"]))) + "]")) + "]]]}",
            12 => "{\"instances\":[],\"signature_name\":\"" + RandomText(10) + "\"}",
            _ => "{\"instances\":[" + _validInstance + "]",
        };
        return Chance(0.15) ? Mutate(Encoding.UTF8.GetBytes(json)) : Encoding.UTF8.GetBytes(json);
    }

    private string RandomShapedArray()
    {
        var rank = _random.Next(0, 6);
        // Image-sized only in the last two dimensions, so a body stays a few hundred KB at most.
        string Build(int depth) => depth == rank
            ? Pick(["0", "0.5", "1", "\"x\"", "null", "[]", "{}", "1e308"])
            : "[" + string.Join(",", Enumerable.Range(0, depth >= rank - 2 ? Pick([0, 1, 2, 27, 28, 29]) : Pick([0, 1, 2, 3])).Select(_ => Build(depth + 1))) + "]";
        return Build(0);
    }

    /// <summary>An Open Inference Protocol request (or response) near the mnist model's shape, wrong in some way.</summary>
    private (byte[] Json, byte[] Tail, long Elements) InferBody(bool binary, bool response)
    {
        var tensors = new List<string>();
        var tail = new List<byte>();
        long elements = 0;
        var count = _random.Next(10) switch { 0 => 0, 1 => 2, 2 => 3, _ => 1 };
        for (var t = 0; t < count; t++)
        {
            var name = Chance(0.8) ? (response ? "probabilities" : "input") : Pick(["x", "", "INPUT", "probabilities", "input", "output", RandomText(8), new string('n', 3000)]);
            var datatype = Chance(0.75) ? "FP32" : Pick(DataTypes);
            var (shape, shapeElements) = RandomShape(response);
            elements = shapeElements;
            var parts = new List<string> { $"\"name\":{JsonString(name)}", $"\"shape\":{shape}", $"\"datatype\":{(Chance(0.05) ? RandomJson(1) : JsonString(datatype))}" };
            if (binary)
            {
                var size = Chance(0.6) ? Math.Clamp(shapeElements, 0, 100_000) * ElementSize(datatype) : Pick<long>([0, 1, 3, 4, 3136, -1, 1L << 40, _random.Next(0, 10_000)]);
                // A lie about sizes needs no megabytes: past 64 KiB the tail is simply shorter than it claims.
                var written = Chance(0.8) ? (int)Math.Clamp(size, 0, 64 * 1024) : _random.Next(0, 5000);
                tail.AddRange(FloatBytes(written));
                parts.Add($"\"parameters\":{{\"binary_data_size\":{(Chance(0.05) ? JsonString(size.ToString(CultureInfo.InvariantCulture)) : size.ToString(CultureInfo.InvariantCulture))}}}");
            }
            else
            {
                parts.Add($"\"data\":{RandomData(shapeElements, datatype)}");
                if (Chance(0.05))
                {
                    parts.Add("\"parameters\":{\"binary_data_size\":" + Pick(["4", "-1", "\"x\"", "null", "99999999999"]) + "}");
                }
            }

            tensors.Add("{" + string.Join(",", Shuffle(parts)) + "}");
        }

        var fields = new List<string>();
        fields.Add($"\"{(response ? "outputs" : "inputs")}\":" + (Chance(0.95) ? "[" + string.Join(",", tensors) + "]" : RandomJson(2)));
        if (response)
        {
            fields.Add($"\"model_name\":{JsonString(Chance(0.9) ? "mnist" : RandomText(6))}");
            if (Chance(0.7))
            {
                fields.Add($"\"model_version\":{(Chance(0.9) ? "\"1\"" : RandomJson(1))}");
            }
        }
        else if (Chance(0.3))
        {
            fields.Add("\"outputs\":" + Pick([
                "[{\"name\":\"probabilities\"}]", "[{\"name\":\"probabilities\",\"parameters\":{\"binary_data\":true}}]", "[{\"name\":\"nope\"}]",
                "[{\"name\":\"probabilities\"},{\"name\":\"probabilities\"}]", "[{\"name\":\"probabilities\",\"parameters\":{\"binary_data\":\"yes\"}}]",
                "[{\"name\":\"probabilities\",\"parameters\":{\"classification\":3}}]", "[]", "{}", "[null]", "[{}]",
            ]));
        }

        if (Chance(0.3))
        {
            fields.Add("\"id\":" + Pick(["\"req-1\"", "42", "null", "\"" + new string('i', 5000) + "\"", "\"\\u0000\"", "\"\\ud800\""]));
        }

        if (Chance(0.2))
        {
            fields.Add("\"parameters\":" + Pick(["{\"binary_data_output\":true}", "{\"binary_data_output\":\"yes\"}", "{\"binary_data_output\":null}", "null", "[]", "{\"x\":{\"y\":[1,2,{}]}}"]));
        }

        var json = Encoding.UTF8.GetBytes("{" + string.Join(",", Shuffle(fields)) + "}");
        return (json, [.. tail], elements);
    }

    private (string Shape, long Elements) RandomShape(bool response)
    {
        if (Chance(0.5))
        {
            return response ? ("[1,10]", 10) : ("[1,1,28,28]", 784);
        }

        var rank = _random.Next(0, 7);
        long[] choices = [-5, -1, 0, 1, 1, 2, 10, 28, 28, 64, 65, 1000, 1L << 31, 1L << 53, long.MaxValue];
        var dims = Enumerable.Range(0, rank).Select(_ => choices[_random.Next(choices.Length)]).ToArray();
        long elements = 1;
        foreach (var dim in dims)
        {
            elements = dim <= 0 ? 0 : (elements > int.MaxValue / Math.Max(1, dim) ? int.MaxValue : elements * dim);
        }

        var text = "[" + string.Join(",", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
        if (Chance(0.1))
        {
            text = Pick(["[1.5,28]", "[\"1\",28]", "[null]", "{}", "28", "[[1]]", "[1e400]", "[-9223372036854775809]", "[18446744073709551616]"]);
        }

        return (text, elements);
    }

    private string RandomData(long elements, string datatype)
    {
        var count = Chance(0.6) ? (int)Math.Clamp(elements, 0, 2000) : _random.Next(0, 1000);
        if (Chance(0.1))
        {
            return RandomJson(2);
        }

        var items = Enumerable.Range(0, count).Select(_ => datatype switch
        {
            "BYTES" => Chance(0.8) ? JsonString(RandomText(4)) : "1",
            "BOOL" => Chance(0.8) ? (Chance(0.5) ? "true" : "false") : "2",
            _ => Chance(0.97) ? (_random.NextDouble() * 2 - 0.5).ToString("0.####", CultureInfo.InvariantCulture) : Pick(["\"1\"", "null", "true", "1e309", "-1e309", "[]", "{}", "9223372036854775808", "-0", "1E-400"]),
        });
        var flat = "[" + string.Join(",", items) + "]";
        return Chance(0.2) ? "[[" + flat + "]]" : flat;
    }

    private static long ElementSize(string datatype) => datatype switch
    {
        "FP64" or "INT64" or "UINT64" => 8,
        "FP32" or "INT32" or "UINT32" => 4,
        "FP16" or "BF16" or "INT16" or "UINT16" => 2,
        _ => 1,
    };

    /// <summary>An Inference-Header-Content-Length value: right, off by some, or not a length at all.</summary>
    private string HeaderLength(int jsonLength, int bodyLength) => _random.Next(14) switch
    {
        < 5 => jsonLength.ToString(CultureInfo.InvariantCulture),
        5 => (jsonLength + _random.Next(1, 50)).ToString(CultureInfo.InvariantCulture),
        6 => Math.Max(0, jsonLength - _random.Next(1, jsonLength + 1)).ToString(CultureInfo.InvariantCulture),
        7 => (bodyLength + _random.Next(1, 100_000)).ToString(CultureInfo.InvariantCulture),
        8 => Pick(["-1", "-2147483648", "-0", "+5"]),
        9 => Pick(["abc", "", " ", "0x10", "1e3", "12.5", "NaN", "nine"]),
        10 => Pick(["2147483647", "2147483648", "99999999999999999999999", "4294967296"]),
        11 => $" {jsonLength}",
        12 => $"{jsonLength}, {jsonLength}",
        _ => "0",
    };

    private byte[] Mutate(byte[] body)
    {
        if (body.Length == 0)
        {
            return RandomBytes(_random.Next(1, 50));
        }

        var copy = (byte[])body.Clone();
        var quote = Array.IndexOf(copy, (byte)'"', _random.Next(0, copy.Length));
        return _random.Next(7) switch
        {
            // An escape that is no text (a lone surrogate), a NUL or a broken \\u right inside a name or a string value.
            6 when quote >= 0 => Concat(copy[..(quote + 1)], Encoding.ASCII.GetBytes(Pick(["\\ud800", "\\udc00", "\\ud83d", "\\u0000", "\\uZZZZ", "\\"])), copy[(quote + 1)..]),
            0 => copy[.._random.Next(0, copy.Length)],
            1 => FlipBytes(copy, _random.Next(1, 10)),
            2 => Concat(copy[.._random.Next(0, copy.Length)], Encoding.UTF8.GetBytes(Pick(["\"", "\\", "\\u", "\\ud800", "\0", "}", "]]]", ",", "\u00ff", "\uFEFF", ":", "/*", "'"])), copy[_random.Next(0, copy.Length)..]),
            3 => Concat([0xEF, 0xBB, 0xBF], copy),
            4 => Concat(copy, RandomBytes(_random.Next(1, 100))),
            _ => Concat(Encoding.UTF8.GetBytes(new string(' ', _random.Next(1, 1000))), copy),
        };
    }

    private byte[] RandomJsonBytes() => Chance(0.2) ? Mutate(Encoding.UTF8.GetBytes(RandomJson(3))) : Encoding.UTF8.GetBytes(RandomJson(3));

    private string RandomJson(int depth)
    {
        var kind = depth <= 0 ? _random.Next(5) : _random.Next(7);
        return kind switch
        {
            0 => Pick(["0", "-1", "1.5", "1e308", "-1e-308", "12345678901234567890123", "-0"]),
            1 => JsonString(RandomText(_random.Next(0, 30))),
            2 => Pick(["true", "false"]),
            3 => "null",
            4 => "\"\"",
            5 => "[" + string.Join(",", Enumerable.Range(0, _random.Next(0, 6)).Select(_ => RandomJson(depth - 1))) + "]",
            _ => "{" + string.Join(",", Enumerable.Range(0, _random.Next(0, 6)).Select(_ => $"{JsonString(Pick(["instances", "inputs", "outputs", "name", "shape", "datatype", "data", "parameters", "b64", "id", RandomText(5)]))}:{RandomJson(depth - 1)}")) + "}",
        };
    }

    private string RandomText(int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(_random.Next(8) switch
            {
                0 => (char)_random.Next(0x20, 0x7F),
                1 => (char)_random.Next(0x00, 0x20),
                2 => (char)_random.Next(0x400, 0x450),
                3 => char.ConvertFromUtf32(_random.Next(0x1F600, 0x1F650)),
                4 => "\u202E",
                5 => "/",
                6 => "..",
                _ => (char)_random.Next('a', 'z' + 1),
            });
        }

        return text.ToString();
    }

    private static string JsonString(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    private byte[] LyingPng(int width, int height)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = (byte)Pick([1, 2, 4, 8, 16, 3, 0, 255]);
        header[9] = (byte)Pick([0, 2, 3, 4, 6, 7]);
        header[12] = (byte)Pick([0, 0, 1, 2]);
        PngChunk(output, "IHDR", header);
        if (Chance(0.5))
        {
            PngChunk(output, "PLTE", RandomBytes(Pick([0, 3, 768, 769])));
        }

        PngChunk(output, "IDAT", Chance(0.5) ? RandomBytes(_random.Next(0, 500)) : [0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
        PngChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void PngChunk(Stream output, string type, byte[] data)
    {
        var typed = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typed);
        data.CopyTo(typed, 4);
        Span<byte> number = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        output.Write(number);
        output.Write(typed);
        var crc = 0xFFFFFFFFu;
        foreach (var b in typed)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(number, ~crc);
        output.Write(number);
    }

    private byte[] LyingJpeg()
    {
        var height = (ushort)Pick([0, 1, 28, 65_535]);
        var width = (ushort)Pick([0, 1, 28, 65_535]);
        byte[] frame = [0xFF, 0xC0, 0x00, 0x11, 0x08, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01];
        return Concat([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00], frame, RandomBytes(_random.Next(0, 1000)), Chance(0.5) ? [0xFF, 0xD9] : []);
    }

    private byte[] LyingWebp()
    {
        var chunk = Chance(0.5)
            ? Concat("VP8X"u8.ToArray(), [10, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            : Concat("VP8 "u8.ToArray(), BitConverter.GetBytes(_random.Next(-10, 5000)), RandomBytes(_random.Next(0, 300)));
        return Concat("RIFF"u8.ToArray(), BitConverter.GetBytes(Pick([0, 4 + chunk.Length, int.MaxValue, -1])), "WEBP"u8.ToArray(), chunk);
    }

    private byte[] LyingBmp()
    {
        var header = new byte[54];
        header[0] = (byte)'B';
        header[1] = (byte)'M';
        BitConverter.GetBytes(Pick([54, 0, int.MaxValue, -1])).CopyTo(header, 2);
        BitConverter.GetBytes(Pick([54, 0, 1 << 30, -54])).CopyTo(header, 10);
        BitConverter.GetBytes(40).CopyTo(header, 14);
        BitConverter.GetBytes(Pick([0, 1, 28, -28, 100_000, int.MaxValue, int.MinValue])).CopyTo(header, 18);
        BitConverter.GetBytes(Pick([0, 1, 28, -28, 100_000, int.MaxValue, int.MinValue])).CopyTo(header, 22);
        BitConverter.GetBytes((short)1).CopyTo(header, 26);
        BitConverter.GetBytes((short)Pick([1, 4, 8, 16, 24, 32, 0, 7, 64])).CopyTo(header, 28);
        BitConverter.GetBytes(Pick([0, 1, 2, 3, 99])).CopyTo(header, 30);
        return Concat(header, RandomBytes(_random.Next(0, 3000)));
    }

    private byte[] FlipBytes(byte[] source, int flips)
    {
        var copy = (byte[])source.Clone();
        for (var i = 0; i < flips && copy.Length > 8; i++)
        {
            copy[_random.Next(8, copy.Length)] ^= (byte)_random.Next(1, 256);
        }

        return copy;
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] FloatBytes(int length)
    {
        var bytes = new byte[length];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan(0, length / 4 * 4)).Fill(0.25f);
        return bytes;
    }

    private static byte[] Concat(params byte[][] parts)
    {
        var all = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, offset);
            offset += part.Length;
        }

        return all;
    }

    private List<string> Shuffle(List<string> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }

        return items;
    }

    private bool Chance(double probability) => _random.NextDouble() < probability;

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];
}
