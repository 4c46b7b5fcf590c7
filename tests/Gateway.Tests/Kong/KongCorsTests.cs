using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.Kong.Plugins;

namespace MlPlatform.Gateway.Tests.Kong;

/// <summary>
/// Kong's cors plugin against preflights and actual requests, with the headers Kong's own test suite
/// (spec/03-plugins/13-cors/01-access_spec.lua) expects for each configuration, its table of origin entries and
/// request origins included; configurations are parsed from Kong's declarative format.
/// </summary>
public sealed class KongCorsTests
{
    private const string DefaultMethods = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

    private const string AllowOrigin = "Access-Control-Allow-Origin";
    private const string AllowCredentials = "Access-Control-Allow-Credentials";
    private const string AllowHeaders = "Access-Control-Allow-Headers";
    private const string AllowMethods = "Access-Control-Allow-Methods";
    private const string ExposeHeaders = "Access-Control-Expose-Headers";
    private const string MaxAge = "Access-Control-Max-Age";

    /// <summary>Kong's regex_testcases, origin by origin: the Access-Control-Allow-Origin expected, or null for none.</summary>
    public static TheoryData<string[], string, string?> OriginTable()
    {
        var table = new TheoryData<string[], string, string?>();
        void Case(string[] origins, params (string Origin, object Expected)[] cases)
        {
            foreach (var (origin, expected) in cases)
            {
                table.Add(origins, origin, expected switch
                {
                    true => origin,
                    string literal => literal,
                    _ => null,
                });
            }
        }

        // A lone entry that is not a regex is sent whatever the origin.
        Case(["foo.test"], ("http://evil.test", "foo.test"), ("http://foo.test", "foo.test"), ("http://foo.test.evil.test", "foo.test"),
            ("http://something.foo.test", "foo.test"), ("http://evilfoo.test", "foo.test"), ("http://foo.test:80", "foo.test"),
            ("http://foo.test:8000", "foo.test"), ("https://foo.test:8000", "foo.test"), ("http://foo.test:90", "foo.test"),
            ("http://foobtest", "foo.test"), ("https://bar.test:1234", "foo.test"));
        Case(["https://bar.test:1234"], ("http://evil.test", "https://bar.test:1234"), ("http://foo.test", "https://bar.test:1234"),
            ("http://foo.test:80", "https://bar.test:1234"), ("https://bar.test:1234", "https://bar.test:1234"));

        // A regex without a colon matches the host alone, anchored at both ends.
        Case([@"foo\.test"], ("http://evil.test", false), ("http://foo.test", true), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", false), ("http://evilfoo.test", false), ("http://foo.test:80", "http://foo.test"),
            ("http://foo.test:8000", true), ("https://foo.test:8000", true), ("http://foo.test:90", true), ("http://foobtest", false),
            ("https://bar.test:1234", false));
        Case([@"(.*[./])?foo\.test"], ("http://evil.test", false), ("http://foo.test", true), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", true), ("http://evilfoo.test", false), ("http://foo.test:80", "http://foo.test"),
            ("http://foo.test:8000", true), ("https://foo.test:8000", true), ("http://foo.test:90", true), ("http://foobtest", false),
            ("https://bar.test:1234", false));

        // A regex with a colon matches scheme, host and port.
        Case([@"(.*[./])?foo\.test:8000"], ("http://evil.test", false), ("http://foo.test", false), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", false), ("http://evilfoo.test", false), ("http://foo.test:80", false),
            ("http://foo.test:8000", true), ("https://foo.test:8000", true), ("http://foo.test:90", false), ("http://foobtest", false),
            ("https://bar.test:1234", false));
        Case([@"https://(.*[.])?foo\.test:8000"], ("http://evil.test", false), ("http://foo.test", false), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", false), ("http://foo.test:80", false), ("http://foo.test:8000", false),
            ("https://foo.test:8000", true), ("http://foo.test:90", false), ("http://foobtest", false), ("https://bar.test:1234", false));
        Case([@"^http://(.*[.])?foo\.test(:(80|90))?$"], ("http://evil.test", false), ("http://foo.test", true),
            ("http://foo.test.evil.test", false), ("http://something.foo.test", true), ("http://foo.test:80", "http://foo.test"),
            ("http://foo.test:8000", false), ("https://foo.test:8000", false), ("http://foo.test:90", true), ("http://foobtest", false),
            ("https://bar.test:1234", false));

        // Several plain entries are compared whole, normalized: a bare host never equals an origin with a scheme.
        Case(["foo.test", "bar.test"], ("http://evil.test", false), ("http://foo.test", false), ("http://foo.test.evil.test", false),
            ("http://foo.test:80", false), ("http://foo.test:8000", false), ("http://foo.test:90", false), ("http://foobtest", false),
            ("https://bar.test:1234", false));
        Case(["http://foo.test", "https://bar.test:1234"], ("http://evil.test", false), ("http://foo.test", true),
            ("http://foo.test.evil.test", false), ("http://foo.test:80", "http://foo.test"), ("http://foo.test:8000", false),
            ("http://foo.test:90", false), ("http://foobtest", false), ("https://bar.test:1234", true));
        Case(["bar.test", @"foo\.test"], ("http://evil.test", false), ("http://foo.test", true), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", false), ("http://foo.test:80", "http://foo.test"), ("http://foo.test:8000", true),
            ("http://foo.test:90", true), ("http://foobtest", false), ("https://bar.test:1234", false));
        Case(["bar.test", @"(.*\.)?foo\.test"], ("http://evil.test", false), ("http://foo.test", true), ("http://foo.test.evil.test", false),
            ("http://something.foo.test", true), ("http://foo.test:80", "http://foo.test"), ("http://foo.test:8000", true),
            ("http://foo.test:90", true), ("http://foobtest", false), ("https://bar.test:1234", false));
        Case(["bar.test", @"(.*[./])?foo\.test:8000"], ("http://evil.test", false), ("http://foo.test", false),
            ("http://foo.test.evil.test", false), ("http://something.foo.test", false), ("http://foo.test:80", false),
            ("http://foo.test:8000", true), ("https://foo.test:8000", true), ("http://foo.test:90", false), ("http://foobtest", false),
            ("https://bar.test:1234", false));
        Case(["bar.test", @"https://(.*\.)?foo\.test:8000"], ("http://evil.test", false), ("http://foo.test", false),
            ("http://foo.test.evil.test", false), ("http://something.foo.test", false), ("http://foo.test:80", false),
            ("http://foo.test:8000", false), ("https://foo.test:8000", true), ("http://foo.test:90", false), ("http://foobtest", false),
            ("https://bar.test:1234", false));
        return table;
    }

    [Theory]
    [MemberData(nameof(OriginTable))]
    public void Preflight_OriginTable_AllowsWhatKongAllows(string[] origins, string origin, string? expected)
    {
        var context = Preflight(origin);

        Assert.True(Cors(new { origins }).HandlePreflight(context));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(expected, Header(context, AllowOrigin));
        if (expected is not null)
        {
            Assert.Equal(DefaultMethods, Header(context, AllowMethods));
            Assert.Null(Header(context, AllowHeaders));
            Assert.Null(Header(context, ExposeHeaders));
            Assert.Null(Header(context, AllowCredentials));
            Assert.Null(Header(context, MaxAge));
        }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"origins": []}""")]
    public void Preflight_Defaults_AllowEveryOrigin_WithNoBodyAndNoVary(string config)
    {
        var context = Preflight("origin1.test");

        Assert.True(Cors(config).HandlePreflight(context));

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal(0, context.Response.ContentLength);
        Assert.Equal(DefaultMethods, Header(context, AllowMethods));
        Assert.Equal("*", Header(context, AllowOrigin));
        Assert.All(new[] { AllowHeaders, ExposeHeaders, AllowCredentials, MaxAge, "Vary" }, name => Assert.Null(Header(context, name)));
    }

    [Fact]
    public void Preflight_WildcardWithCredentials_EchoesTheOrigin()
    {
        var context = Preflight("origin5.test");

        Assert.True(Cors(new { origins = new[] { "*" }, credentials = true }).HandlePreflight(context));

        Assert.Equal("origin5.test", Header(context, AllowOrigin));
        Assert.Equal("true", Header(context, AllowCredentials));
        Assert.Equal("Origin", Header(context, "Vary"));
        Assert.Equal(DefaultMethods, Header(context, AllowMethods));
    }

    [Fact]
    public void Preflight_WildcardAmongOtherEntries_AllowsEveryOrigin()
    {
        var context = Preflight("http://www.example.net");

        Assert.True(Cors(new { origins = new[] { "foo.bar", "*" } }).HandlePreflight(context));

        Assert.Equal("*", Header(context, AllowOrigin));
        Assert.Null(Header(context, AllowCredentials));
    }

    [Fact]
    public void Preflight_ConfigOptions_AreSentAsConfigured()
    {
        // Kong's suite (cors2.test).
        var context = Preflight("origin5.test");

        Assert.True(Cors(Cors2).HandlePreflight(context));

        Assert.Equal(0, context.Response.ContentLength);
        Assert.Equal("GET", Header(context, AllowMethods));
        Assert.Equal("example.test", Header(context, AllowOrigin));
        Assert.Equal("23", Header(context, MaxAge));
        Assert.Equal("true", Header(context, AllowCredentials));
        Assert.Equal("origin,type,accepts", Header(context, AllowHeaders));
        Assert.Equal("Origin", Header(context, "Vary"));
        Assert.Null(Header(context, ExposeHeaders));
    }

    [Fact]
    public void Preflight_Continue_GoesUpstream_AndItsResponseGetsNoCorsHeader()
    {
        var cors = Cors(new { origins = new[] { "example.test" }, methods = new[] { "GET" }, exposed_headers = new[] { "x-auth-token" }, preflight_continue = true });
        var context = Preflight("origin5.test");
        context.Response.StatusCode = 201;

        Assert.False(cors.HandlePreflight(context));
        context.Response.Headers[AllowOrigin] = "upstream.test";
        cors.OnResponse(context);

        Assert.Equal(201, context.Response.StatusCode);
        Assert.Equal("upstream.test", Header(context, AllowOrigin));
        Assert.Null(Header(context, AllowMethods));
        Assert.Null(Header(context, ExposeHeaders));
        Assert.Null(Header(context, "Vary"));
    }

    [Fact]
    public void Preflight_WithoutConfiguredHeaders_EchoesTheFirstRequestedHeaders()
    {
        var context = Preflight("origin5.test");
        context.Request.Headers.Append("Access-Control-Request-Headers", "origin,accepts");
        context.Request.Headers.Append("Access-Control-Request-Headers", "x-second-line");

        Assert.True(Cors(new { origins = new[] { "*" }, credentials = true }).HandlePreflight(context));

        Assert.Equal("origin,accepts", Header(context, AllowHeaders));
    }

    [Theory]
    [InlineData("true", "true")]
    [InlineData("TRUE", null)]
    [InlineData(null, null)]
    public void Preflight_PrivateNetwork_IsAllowedOnlyWhenAskedWithTrue(string? requested, string? expected)
    {
        var context = Preflight("allowed-domain.test", "PUT");
        if (requested is not null)
        {
            context.Request.Headers["Access-Control-Request-Private-Network"] = requested;
        }

        Assert.True(Cors(new { origins = new[] { "allowed-domain.test" }, private_network = true }).HandlePreflight(context));

        Assert.Equal(expected, Header(context, "Access-Control-Allow-Private-Network"));
    }

    [Theory]
    [InlineData("OPTIONS", "http://my-site.test", null)]
    [InlineData("OPTIONS", "", "GET")]
    [InlineData("OPTIONS", null, "GET")]
    [InlineData("GET", "http://my-site.test", "GET")]
    [InlineData("options", "http://my-site.test", "GET")]
    public void NotAPreflight_IsNotAnswered_AndItsResponseGetsTheHeaders(string method, string? origin, string? requestMethod)
    {
        var cors = Cors(new { origins = new[] { "http://my-site.test", "http://my-other-site.test" } });
        var context = Request(method, origin);
        if (requestMethod is not null)
        {
            context.Request.Headers["Access-Control-Request-Method"] = requestMethod;
        }

        Assert.False(cors.HandlePreflight(context));
        cors.OnResponse(context);

        Assert.Equal(string.IsNullOrEmpty(origin) ? null : origin, Header(context, AllowOrigin));
        Assert.Null(Header(context, AllowMethods));
        Assert.Equal("Origin", Header(context, "Vary"));
    }

    [Fact]
    public void Response_Defaults_AllowEveryOrigin_WithoutVary()
    {
        var context = Request("GET", origin: null);

        Cors("{}").OnResponse(context);

        Assert.Equal("*", Header(context, AllowOrigin));
        Assert.All(new[] { AllowMethods, AllowHeaders, ExposeHeaders, AllowCredentials, MaxAge, "Vary" }, name => Assert.Null(Header(context, name)));
    }

    [Fact]
    public void Response_ConfigOptions_WithNoOrigin_SendTheLoneOrigin()
    {
        // Kong's suite (cors2.test), also for a 502 or a 500: the headers go on any response.
        var context = Request("GET", origin: null);
        context.Response.StatusCode = 502;

        Cors(Cors2).OnResponse(context);

        Assert.Equal("example.test", Header(context, AllowOrigin));
        Assert.Equal("x-auth-token", Header(context, ExposeHeaders));
        Assert.Equal("true", Header(context, AllowCredentials));
        Assert.Equal("Origin", Header(context, "Vary"));
        Assert.All(new[] { AllowMethods, AllowHeaders, MaxAge }, name => Assert.Null(Header(context, name)));
    }

    [Fact]
    public void Response_AddsToTheUpstreamsVary()
    {
        var context = Request("GET", "example.test");
        context.Response.Headers.Vary = "Accept-Encoding";

        Cors(new { origins = new[] { "example.test" } }).OnResponse(context);

        Assert.Equal(["Accept-Encoding", "Origin"], Values(context.Response.Headers.Vary));
    }

    [Theory]
    [InlineData("example.test", "example.test")]
    [InlineData("http://example.test", null)]
    [InlineData("https://example.test", null)]
    [InlineData("http://www.example.net", null)]
    public void Response_PlainEntries_AreNotParsedForTheirHost(string origin, string? expected)
    {
        var context = Request("GET", origin);

        Cors(new { origins = new[] { "example.test", "example.org" } }).OnResponse(context);

        Assert.Equal(expected, Header(context, AllowOrigin));
        Assert.Equal("Origin", Header(context, "Vary"));
    }

    [Theory]
    [InlineData("example.test", true)]
    [InlineData("www.example.test", true)]
    [InlineData("example-foo.test", true)]
    [InlineData("www.example-foo.test", true)]
    [InlineData("www.example-fo0.test", false)]
    public void Response_RegexEntry_OnOriginsWithoutScheme(string origin, bool allowed)
    {
        var context = Request("GET", origin);

        Cors(new { origins = new[] { @".*\.?example(?:-foo)?.test" } }).OnResponse(context);

        Assert.Equal(allowed ? origin : null, Header(context, AllowOrigin));
        Assert.Equal("Origin", Header(context, "Vary"));
    }

    [Theory]
    [InlineData("http://my-site.test", "http://my-site.test")]
    [InlineData("http://my-site.test:80", "http://my-site.test")]
    [InlineData("http://my-site.test:8000", null)]
    [InlineData("https://my-site.test", null)]
    [InlineData("https://my-other-site.test:9000", "https://my-other-site.test:9000")]
    [InlineData("https://my-other-site.test:9001", null)]
    [InlineData("http://my-site.test.bad-guys.test", null)]
    [InlineData("http://user@my-site.test", "http://my-site.test")]
    public void Response_FullOrigins_CompareSchemeAndPort_WithTheDefaultPortDropped(string origin, string? expected)
    {
        var context = Request("GET", origin);

        Cors(new { origins = new[] { "http://my-site.test", "https://my-other-site.test:9000" } }).OnResponse(context);

        Assert.Equal(expected, Header(context, AllowOrigin));
    }

    [Fact]
    public void Response_NoMatch_TakesAwayTheUpstreamsOrigin_ButStillSendsCredentials()
    {
        var config = new { credentials = true, max_age = 1728000, headers = new[] { "DNT", "Content-Type" }, origins = new[] { "a.xxx.test", "allowed-domain.test" } };
        var allowed = Request("GET", "allowed-domain.test");
        allowed.Response.Headers[AllowOrigin] = "*";
        Cors(config).OnResponse(allowed);
        Assert.Equal("allowed-domain.test", Header(allowed, AllowOrigin));
        Assert.Equal("true", Header(allowed, AllowCredentials));
        Assert.Equal("Origin", Header(allowed, "Vary"));

        var refused = Request("GET", "disallowed-domain.test");
        refused.Response.Headers[AllowOrigin] = "*";
        Cors(config).OnResponse(refused);
        Assert.Null(Header(refused, AllowOrigin));
        Assert.Equal("true", Header(refused, AllowCredentials));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(false, "")]
    [InlineData(true, null)]
    [InlineData(true, "")]
    public void Response_AbsentOrigin_GetsHeadersOnlyWhenAllowed(bool allowOriginAbsent, string? origin)
    {
        var context = Request("GET", origin);

        Cors(new { allow_origin_absent = allowOriginAbsent, origins = new[] { "foo.bar" }, exposed_headers = new[] { "x-auth-token" }, credentials = true })
            .OnResponse(context);

        Assert.Equal(allowOriginAbsent ? "foo.bar" : null, Header(context, AllowOrigin));
        Assert.Equal(allowOriginAbsent ? "true" : null, Header(context, AllowCredentials));
        Assert.Equal(allowOriginAbsent ? "x-auth-token" : null, Header(context, ExposeHeaders));
    }

    [Theory]
    [InlineData("http://www.example.net", true, "http://www.example.net", "true", "Origin")]
    [InlineData("http://www.example.net:3000", true, "http://www.example.net:3000", "true", "Origin")]
    [InlineData("http://www.example.net", false, "*", null, null)]
    [InlineData(null, true, "*", null, null)]
    public void Response_Wildcard_EchoesTheOriginOnlyForCredentials(string? origin, bool credentials, string allowOrigin, string? allowCredentials, string? vary)
    {
        var context = Request("GET", origin);

        Cors(new { origins = new[] { "*" }, credentials }).OnResponse(context);

        Assert.Equal(allowOrigin, Header(context, AllowOrigin));
        Assert.Equal(allowCredentials, Header(context, AllowCredentials));
        Assert.Equal(vary, Header(context, "Vary"));
    }

    [Theory]
    [InlineData(23, "23")]
    [InlineData(1728000, "1728000")]
    [InlineData(0.5, "0.5")]
    [InlineData(0, "0")]
    public void MaxAge_IsWrittenAsLuaWritesANumber(double maxAge, string expected)
    {
        var context = Preflight("origin.test");

        Assert.True(Cors(new { max_age = maxAge }).HandlePreflight(context));

        Assert.Equal(expected, Header(context, MaxAge));
    }

    [Fact]
    public void Methods_ExplicitlyEmpty_AreKongsDefaultList()
    {
        var context = Preflight("origin.test");

        Assert.True(Cors(new { methods = Array.Empty<string>() }).HandlePreflight(context));

        Assert.Equal(DefaultMethods, Header(context, AllowMethods));
    }

    [Fact]
    public void Origin_RepeatedHeader_TheFirstIsTheOrigin()
    {
        var context = Request("GET", "http://my-site.test");
        context.Request.Headers.Append("Origin", "http://evil.test");

        Cors(new { origins = new[] { "http://my-site.test", "x.test" } }).OnResponse(context);

        Assert.Equal("http://my-site.test", Header(context, AllowOrigin));
    }

    [Theory]
    [InlineData("https://a.test:443", "https://a.test")]
    [InlineData("https://a.test:80", null)]
    [InlineData("null", null)]
    [InlineData("http://bücher.test", "http://bücher.test")]
    [InlineData("http://bücherXtest", "http://bücherXtest")]
    public void Origin_UnusualButSent_IsComparedAsKongNormalizesIt(string origin, string? expected)
    {
        // "http://bücher.test" has a character outside a plain origin, so Kong reads it as a regex, its dot any character.
        var context = Request("GET", origin);

        Cors(new { origins = new[] { "https://a.test", "http://bücher.test" } }).OnResponse(context);

        Assert.Equal(expected, Header(context, AllowOrigin));
    }

    [Fact]
    public void OnResponseStarting_WritesTheHeaders_OverWhatTheUpstreamSentWhenTheResponseStarts()
    {
        var response = new StartableResponse();
        var context = Request("GET", "disallowed.test");
        context.Features.Set<IHttpResponseFeature>(response);

        Cors(new { origins = new[] { "allowed.test", "other.test" } }).OnResponseStarting(context);
        context.Response.Headers[AllowOrigin] = "*";
        Assert.Equal("*", Header(context, AllowOrigin));
        response.Start();

        Assert.Null(Header(context, AllowOrigin));
        Assert.Equal("Origin", Header(context, "Vary"));
    }

    /// <summary>Kong's suite's cors2.test.</summary>
    private static readonly object Cors2 = new
    {
        origins = new[] { "example.test" },
        methods = new[] { "GET" },
        headers = new[] { "origin", "type", "accepts" },
        exposed_headers = new[] { "x-auth-token" },
        max_age = 23,
        credentials = true,
    };

    private static KongCors Cors(object config) => Cors(JsonSerializer.Serialize(config));

    private static KongCors Cors(string config)
    {
        var result = DeclarativeParser.Parse($$"""
            _format_version: "3.0"
            plugins:
            - name: cors
              config: {{config}}
            """);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        return new KongCors(Assert.IsType<CorsConfig>(result.Config!.Plugins[0].Config));
    }

    private static DefaultHttpContext Preflight(string origin, string requestMethod = "GET")
    {
        var context = Request("OPTIONS", origin);
        context.Request.Headers["Access-Control-Request-Method"] = requestMethod;
        return context;
    }

    private static DefaultHttpContext Request(string method, string? origin)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = "/";
        if (origin is not null)
        {
            context.Request.Headers.Origin = origin;
        }

        return context;
    }

    private static string? Header(HttpContext context, string name) =>
        context.Response.Headers.TryGetValue(name, out var values) ? values.ToString() : null;

    private static string[] Values(Microsoft.Extensions.Primitives.StringValues values) => Array.ConvertAll(values.ToArray(), value => value ?? "");

    /// <summary>A response that runs its OnStarting callbacks when told to, as the server does when it sends the headers.</summary>
    private sealed class StartableResponse : HttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];

        public override void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add((callback, state));

        public void Start()
        {
            foreach (var (callback, state) in _onStarting)
            {
                callback(state).GetAwaiter().GetResult();
            }
        }
    }
}
