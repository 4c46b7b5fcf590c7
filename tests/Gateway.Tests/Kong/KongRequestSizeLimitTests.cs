using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.Kong.Plugins;

namespace MlPlatform.Gateway.Tests.Kong;

/// <summary>
/// Kong's request-size-limiting against declared, chunked and absent lengths, with the statuses and messages Kong's
/// own test suite (spec/03-plugins/12-request-size-limiting/01-access_spec.lua) expects; its limit there is 2 of each unit.
/// </summary>
public sealed class KongRequestSizeLimitTests
{
    private static readonly PluginRefusal TooLarge = new(413, "Request size limit exceeded");

    [Theory]
    [InlineData("bytes", 1)]
    [InlineData("kilobytes", 1024)]
    [InlineData("megabytes", 1048576)]
    public void DeclaredLength_IsRefusedOnlyPastTheLimit_InEachUnit(string unit, long factor)
    {
        var limit = Limit($$"""{"allowed_payload_size": 2, "size_unit": "{{unit}}"}""");

        Assert.Null(limit.Check(Request(contentLength: (2 * factor) - 1)));
        Assert.Null(limit.Check(Request(contentLength: 2 * factor)));
        Assert.Equal(TooLarge, limit.Check(Request(contentLength: (2 * factor) + 1)));
    }

    [Fact]
    public void DefaultLimit_Is128Megabytes()
    {
        var limit = Limit("{}");

        Assert.Null(limit.Check(Request(contentLength: 128L * 1048576)));
        Assert.Equal(TooLarge, limit.Check(Request(contentLength: (128L * 1048576) + 1)));
    }

    [Theory]
    [InlineData("100-continue")]
    [InlineData(" 100-Continue ")]
    public void DeclaredLengthPastTheLimit_WithExpectContinue_Is417(string expect)
    {
        var limit = Limit("""{"allowed_payload_size": 2}""");

        Assert.Equal(new PluginRefusal(417, "Request size limit exceeded"), limit.Check(Request(contentLength: (2 * 1048576) + 1, headers: [("Expect", expect)])));
        Assert.Null(limit.Check(Request(contentLength: 2 * 1048576, headers: [("Expect", expect)])));
    }

    [Fact]
    public void HugeContentLength_PastWhatALongHolds_IsRefused()
    {
        var context = Request(headers: [("Content-Length", "99999999999999999999")]);

        Assert.Equal(TooLarge, Limit("{}").Check(context));
    }

    [Fact]
    public void ContentLength_NotANumber_IsNoLength()
    {
        var limit = Limit("""{"require_content_length": true}""");

        Assert.Equal(new PluginRefusal(411, "A valid Content-Length header is required"), limit.Check(Request(headers: [("Content-Length", "12abc")])));
    }

    [Theory]
    [InlineData(null, 411)]
    [InlineData("chunked", null)]
    [InlineData("gzip, chunked", 411)]
    [InlineData("Chunked", 411)]
    public void RequireContentLength_WithoutOne_IsRefusedUnlessTheBodyIsExactlyChunked(string? transferEncoding, int? status)
    {
        var limit = Limit("""{"require_content_length": true}""");
        var context = Request(headers: transferEncoding is null ? [] : [("Transfer-Encoding", transferEncoding)]);

        Assert.Equal(status, limit.Check(context)?.StatusCode);
    }

    [Fact]
    public void RequireContentLength_ZeroIsALength()
    {
        Assert.Null(Limit("""{"require_content_length": true}""").Check(Request(contentLength: 0)));
    }

    [Theory]
    [InlineData(null, 2048L)]
    [InlineData(1_000_000_000L, 2048L)]
    [InlineData(10L, 10L)]
    public void ChunkedBody_LowersTheServerLimit_NeverRaisesIt(long? serverLimit, long expected)
    {
        var context = Request(headers: [("Transfer-Encoding", "chunked")]);
        var feature = new ServerBodyLimit(serverLimit, isReadOnly: false);
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(feature);

        Assert.Null(Limit("""{"allowed_payload_size": 2, "size_unit": "kilobytes"}""").Check(context));

        Assert.Equal(expected, feature.MaxRequestBodySize);
    }

    [Theory]
    [InlineData(true, null, 413)]
    [InlineData(true, "100-continue", 417)]
    [InlineData(false, null, 413)]
    public async Task ChunkedBody_WhereTheServerLimitIsFixed_StopsAtTheFirstByteOver(bool withReadOnlyFeature, string? expect, int status)
    {
        var context = Request(body: "abc", headers: expect is null ? [] : [("Expect", expect)]);
        var feature = new ServerBodyLimit(100, isReadOnly: true);
        if (withReadOnlyFeature)
        {
            context.Features.Set<IHttpMaxRequestBodySizeFeature>(feature);
        }

        Assert.Null(Limit("""{"allowed_payload_size": 2, "size_unit": "bytes"}""").Check(context));

        var buffer = new byte[1];
        await context.Request.Body.ReadExactlyAsync(buffer);
        await context.Request.Body.ReadExactlyAsync(buffer);
        var refused = await Assert.ThrowsAsync<BadHttpRequestException>(async () => await context.Request.Body.ReadExactlyAsync(buffer));
        Assert.Equal(status, refused.StatusCode);
        Assert.Equal("Request size limit exceeded", refused.Message);
        Assert.Equal(100, feature.MaxRequestBodySize);
    }

    [Fact]
    public async Task ChunkedBody_WithinTheLimit_ReadsToItsEnd()
    {
        var context = Request(body: "ab");

        Assert.Null(Limit("""{"allowed_payload_size": 2, "size_unit": "bytes"}""").Check(context));

        using var reader = new StreamReader(context.Request.Body);
        Assert.Equal("ab", await reader.ReadToEndAsync());
    }

    [Fact]
    public void SizePastWhatALongHoldsInBytes_AllowsEverything_AsKongsNumbersDo()
    {
        // 2^43 megabytes is 2^63 bytes: a product that wrapped would be negative and refuse every request.
        var limit = Limit("""{"allowed_payload_size": 8796093022208, "size_unit": "megabytes"}""");

        Assert.Null(limit.Check(Request(contentLength: 1000)));
        Assert.Null(limit.Check(Request(contentLength: long.MaxValue)));
    }

    [Fact]
    public void NegativeSize_RefusesEvenAnEmptyBody()
    {
        var limit = Limit("""{"allowed_payload_size": -1}""");

        Assert.Equal(TooLarge, limit.Check(Request(contentLength: 0)));
        Assert.Equal(TooLarge, limit.Check(Request()));
    }

    private static KongRequestSizeLimit Limit(string config)
    {
        var result = DeclarativeParser.Parse($$"""
            _format_version: "3.0"
            plugins:
            - name: request-size-limiting
              config: {{config}}
            """);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        return new KongRequestSizeLimit(Assert.IsType<RequestSizeLimitingConfig>(result.Config!.Plugins[0].Config));
    }

    private static DefaultHttpContext Request(long? contentLength = null, string? body = null, (string Name, string Value)[]? headers = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentLength = contentLength;
        foreach (var (name, value) in headers ?? [])
        {
            context.Request.Headers.Append(name, value);
        }

        if (body is not null)
        {
            context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        }

        return context;
    }

    private sealed class ServerBodyLimit(long? limit, bool isReadOnly) : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => isReadOnly;

        public long? MaxRequestBodySize { get; set; } = limit;
    }
}
