using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using MlPlatform.Gateway.Declarative;
using MlPlatform.Gateway.Kong.Plugins;

namespace MlPlatform.Gateway.Tests.Kong;

/// <summary>
/// Kong's request-transformer against requests as clients send them, careless or hostile: each configuration is
/// parsed from Kong's declarative format, and each expected request is the one Kong's documentation or its own test
/// suite (spec/03-plugins/36-request-transformer/02-access_spec.lua) says reaches the upstream.
/// </summary>
public sealed class KongRequestTransformerTests
{
    private const string Boundary = "XyZ";
    private const string MultipartType = "multipart/form-data; boundary=" + Boundary;

    // --- Headers ---

    [Fact]
    public async Task AddHeaders_DocumentedExample_AddsOnlyWhatIsAbsent()
    {
        // Kong's docs: add.headers ["h1:v2", "h2:v1"], incoming h1: v1, upstream h1: v1, h2: v1.
        var context = Request("GET", headers: [("h1", "v1")]);

        await Apply("""{"add": {"headers": ["h1:v2", "h2:v1"]}}""", context);

        Assert.Equal("v1", context.Request.Headers["h1"]);
        Assert.Equal("v1", context.Request.Headers["h2"]);
    }

    [Fact]
    public async Task AddHeadersAndQuery_DocumentedExample_LeavesWhatIsSet()
    {
        // Kong's docs: incoming h3: v1 and ?q1=v1 give h1, h2, h3 all v1 and ?q1=v1&q2=v1.
        const string Config = """{"add": {"headers": ["h1:v1", "h2:v1"], "querystring": ["q1:v2", "q2:v1"]}}""";
        var context = Request("GET", "?q1=v1", headers: [("h3", "v1")]);

        await Apply(Config, context);

        Assert.Equal("v1", context.Request.Headers["h1"]);
        Assert.Equal("v1", context.Request.Headers["h2"]);
        Assert.Equal("v1", context.Request.Headers["h3"]);
        Assert.Equal("?q1=v1&q2=v1", context.Request.QueryString.Value);

        var bare = Request("GET");
        await Apply(Config, bare);
        Assert.Equal("?q1=v2&q2=v1", bare.Request.QueryString.Value);
    }

    [Fact]
    public async Task RemoveHeader_IgnoresCase_AndAnAbsentOneChangesNothing()
    {
        var context = Request("GET", headers: [("x-to-remove", "true"), ("x-another-header", "true")]);

        await Apply("""{"remove": {"headers": ["X-To-Remove", "x-never-sent"]}}""", context);

        Assert.False(context.Request.Headers.ContainsKey("x-to-remove"));
        Assert.Equal("true", context.Request.Headers["x-another-header"]);
    }

    [Fact]
    public async Task RenameHeader_KeepsEveryValue_AndOverwritesTheTarget()
    {
        var context = Request("GET", headers: [("x-to-rename", "first"), ("x-to-rename", "second"), ("X-Is-Renamed", "old-result")]);

        await Apply("""{"rename": {"headers": ["x-to-rename:x-is-renamed"]}}""", context);

        Assert.False(context.Request.Headers.ContainsKey("x-to-rename"));
        Assert.Equal(["first", "second"], HeaderValues(context, "x-is-renamed"));
    }

    [Fact]
    public async Task RenameHeader_OnlyCase_SendsTheConfiguredCase_AndIdenticalNamesKeepTheHeader()
    {
        var context = Request("GET", headers: [("rename", "true"), ("identical", "true")]);

        await Apply("""{"rename": {"headers": ["rename:Rename", "identical:identical", "absent:present"]}}""", context);

        Assert.Contains("Rename", context.Request.Headers.Keys);
        Assert.DoesNotContain("rename", context.Request.Headers.Keys);
        Assert.Equal("true", context.Request.Headers["identical"]);
        Assert.False(context.Request.Headers.ContainsKey("present"));
    }

    [Fact]
    public async Task ReplaceHeader_OnlyWhenPresent_EveryValueGivingWay()
    {
        var present = Request("GET", headers: [("h1", "V"), ("h1", "W"), ("h2", "v2")]);
        await Apply("""{"replace": {"headers": ["h1:v1"]}}""", present);
        Assert.Equal(["v1"], HeaderValues(present, "h1"));
        Assert.Equal("v2", present.Request.Headers["h2"]);

        var absent = Request("GET", headers: [("h2", "v2")]);
        await Apply("""{"replace": {"headers": ["h1:v1"]}}""", absent);
        Assert.False(absent.Request.Headers.ContainsKey("h1"));
    }

    [Fact]
    public async Task AppendHeaders_AddToTheValuesThere()
    {
        // Kong's suite: append h1:v1, h1:v2, h2:v1 gives h1 both values and h2 one.
        var context = Request("GET", headers: [("h1", "v0")]);

        await Apply("""{"append": {"headers": ["h1:v1", "h1:v2", "h2:v1"]}}""", context);

        Assert.Equal(["v0", "v1", "v2"], HeaderValues(context, "h1"));
        Assert.Equal(["v1"], HeaderValues(context, "h2"));
    }

    [Fact]
    public async Task AddThenAppend_InOneConfiguration_KeepTheConfiguredCase()
    {
        // Kong's suite (route 26): the request's X-addeD: a0 goes up as X-aDDed: a0, a2, a3; the added x-aDDed2 keeps its case.
        const string Config = """{"add": {"headers": ["X-aDDed:a1", "x-aDDed2:b1"]}, "append": {"headers": ["X-aDDed:a2", "X-aDDed:a3"]}}""";
        var context = Request("GET", headers: [("X-addeD", "a0")]);

        await Apply(Config, context);

        Assert.Contains("X-aDDed", context.Request.Headers.Keys);
        Assert.Contains("x-aDDed2", context.Request.Headers.Keys);
        Assert.Equal(["a0", "a2", "a3"], HeaderValues(context, "x-added"));

        var bare = Request("GET");
        await Apply(Config, bare);
        Assert.Equal(["a1", "a2", "a3"], HeaderValues(bare, "x-added"));
    }

    [Fact]
    public async Task Host_IsNeverAddedOrRemoved_ButReplaceSetsIt()
    {
        var kept = Request("GET", headers: [("Host", "test2.test")]);
        await Apply("""{"add": {"headers": ["host:mark"]}, "remove": {"headers": ["host"]}, "rename": {"headers": ["host:x-host"]}}""", kept);
        Assert.Equal("test2.test", kept.Request.Headers.Host);
        Assert.False(kept.Request.Headers.ContainsKey("x-host"));

        var absent = Request("GET");
        await Apply("""{"add": {"headers": ["host:mark"]}}""", absent);
        Assert.False(absent.Request.Headers.ContainsKey("Host"));

        var replaced = Request("GET");
        await Apply("""{"replace": {"headers": ["host:upstream.test"]}}""", replaced);
        Assert.Equal("upstream.test", replaced.Request.Headers.Host);
    }

    [Fact]
    public async Task RemoveThenAdd_SameHeader_SendsTheAddedValue()
    {
        // Kong's suite (route 22): a client's own Authorization is replaced by the configured one.
        var context = Request("GET", headers: [("Authorization", "Bearer client-token")]);

        await Apply("""{"http_method": "POST", "remove": {"headers": ["Authorization"]}, "add": {"headers": ["Authorization:Basic test"]}}""", context);

        Assert.Equal("Basic test", context.Request.Headers.Authorization);
        Assert.Equal("POST", context.Request.Method);
    }

    [Fact]
    public async Task HeaderValue_WithColonsAndUnicode_IsSentWhole()
    {
        var context = Request("GET");

        await Apply("""{"add": {"headers": ["h2:value:2", "x-city:Zürich"]}}""", context);

        Assert.Equal("value:2", context.Request.Headers["h2"]);
        Assert.Equal("Zürich", context.Request.Headers["x-city"]);
    }

    // --- Query string ---

    [Fact]
    public async Task RemoveQuery_EntryWithAColon_RemovesTheNameBeforeIt()
    {
        // Kong's documented example lists remove.querystring entries as "qs-old-name:qs-new-name".
        var context = Request("GET", "?qs-old-name=1&keep=2");

        await Apply("""{"remove": {"querystring": ["qs-old-name:qs-new-name"]}}""", context);

        Assert.Equal("?keep=2", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Query_AnyTransform_WritesItBackSortedAndReencoded()
    {
        // Kong's set_query: each name's run sorted byte by byte, '+' a space sent as %20, '-' before '='.
        var context = Request("GET", "?b=2&a=x+y&a-b=3&flag&q=%7e%2f%zz");

        await Apply("""{"remove": {"querystring": ["never-sent"]}}""", context);

        Assert.Equal("?a-b=3&a=x%20y&b=2&flag&q=~%2F%25zz", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Query_NoQueryTransform_IsLeftExactlyAsSent()
    {
        var context = Request("GET", "?b=2&a=x+y");

        await Apply("""{"add": {"headers": ["h1:v1"]}}""", context);

        Assert.Equal("?b=2&a=x+y", context.Request.QueryString.Value);
    }

    [Theory]
    [InlineData("""{"append": {"querystring": ["q1:v1"]}}""", "?q1=a&q1=b&q1=v1&q2=c")]
    [InlineData("""{"remove": {"querystring": ["q1"]}}""", "?q2=c")]
    [InlineData("""{"replace": {"querystring": ["q1:v1"]}}""", "?q1=v1&q2=c")]
    [InlineData("""{"rename": {"querystring": ["q1:q3"]}}""", "?q2=c&q3=a&q3=b")]
    [InlineData("""{"rename": {"querystring": ["q1:q2"]}}""", "?q2=a&q2=b")]
    [InlineData("""{"add": {"querystring": ["q1:v1"]}}""", "?q1=a&q1=b&q2=c")]
    public async Task Query_RepeatedKey_IsOneArgumentWithEveryValue(string config, string expected)
    {
        var context = Request("GET", "?q1=a&q2=c&q1=b");

        await Apply(config, context);

        Assert.Equal(expected, context.Request.QueryString.Value);
    }

    [Theory]
    [InlineData("""{"append": {"querystring": ["flag:v"]}}""", "?flag=v&x=1")]
    [InlineData("""{"add": {"querystring": ["flag:v"]}}""", "?flag&x=1")]
    [InlineData("""{"replace": {"querystring": ["flag:v"]}}""", "?flag=v&x=1")]
    public async Task Query_FlagWithoutValue_IsPresent_AndGivesWayToAnAppendedValue(string config, string expected)
    {
        var context = Request("GET", "?flag&x=1");

        await Apply(config, context);

        Assert.Equal(expected, context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Query_DocumentedCombination_OfRoute3()
    {
        // Kong's suite (route 3): a value with a colon, append after add, replace, remove; the query comes back sorted.
        const string Config = """
            {"add": {"querystring": ["query-added:newvalue", "p1:anything:1"]}, "remove": {"querystring": ["toremovequery"]},
             "append": {"querystring": ["p1:a2", "p2:b1"]}, "replace": {"querystring": ["toreplacequery:no"]}}
            """;
        var context = Request("GET", "?toremovequery=yes&q1=20&toreplacequery=yes");

        await Apply(Config, context);

        Assert.Equal("?p1=anything%3A1&p1=a2&p2=b1&q1=20&query-added=newvalue&toreplacequery=no", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task RenameQuery_AbsentName_DoesNotOverwriteTheTarget()
    {
        // Kong's suite: rename inexist:exist leaves ?exist=true alone.
        var context = Request("GET", "?exist=true");

        await Apply("""{"rename": {"querystring": ["inexist:exist"]}}""", context);

        Assert.Equal("?exist=true", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Query_EmptyNames_AreDropped_AndRemovingTheLastArgumentLeavesNoQuery()
    {
        var context = Request("GET", "?=x&&a=1&=");

        await Apply("""{"remove": {"querystring": ["a"]}}""", context);

        Assert.False(context.Request.QueryString.HasValue);
    }

    [Fact]
    public async Task Query_UnicodeNamesAndValues_MatchDecodedAndGoUpEncoded()
    {
        var context = Request("GET", "?%E5%90%8D=1");

        await Apply("""{"rename": {"querystring": ["名:name"]}, "add": {"querystring": ["city:Zürich"]}}""", context);

        Assert.Equal("?city=Z%C3%BCrich&name=1", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task Query_NamesAreCaseSensitive()
    {
        var context = Request("GET", "?Q1=a");

        await Apply("""{"remove": {"querystring": ["q1"]}}""", context);

        Assert.Equal("?Q1=a", context.Request.QueryString.Value);
    }

    // --- JSON body ---

    [Fact]
    public async Task AddJson_NewMember_IsAppended_WithItsLength()
    {
        // Kong's suite (route 1): add.body p1:v1 on {"hello": "world"}.
        var context = Request("POST", contentType: "application/json", body: """{"hello":"world"}""");

        await Apply("""{"add": {"body": ["p1:v1"]}}""", context);

        AssertBody("""{"hello":"world","p1":"v1"}""", context);
    }

    [Fact]
    public async Task AddJson_ValuesThatLookLikeNumbersOrBooleans_StayStrings()
    {
        var context = Request("POST", contentType: "application/json", body: "{}");

        await Apply("""{"add": {"body": ["n:5", "b:true", "z:null"]}}""", context);

        AssertBody("""{"n":"5","b":"true","z":"null"}""", context);
    }

    [Theory]
    [InlineData("malformed json body")]
    [InlineData("{\"a\":1")]
    [InlineData("   ")]
    [InlineData("[1,2]")]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("\"text\"")]
    public async Task JsonBody_NotAnObject_IsLeftAsSent(string body)
    {
        var context = Request("POST", contentType: "application/json", body: body);

        await Apply("""{"add": {"body": ["p1:v1"]}, "remove": {"body": ["a"]}}""", context);

        AssertBody(body, context);
    }

    [Fact]
    public async Task JsonBody_Empty_GetsOnlyWhatAddAndAppendPut()
    {
        var added = Request("POST", contentType: "application/json", body: "");
        await Apply("""{"add": {"body": ["p1:v1"]}, "append": {"body": ["p2:v2"]}}""", added);
        AssertBody("""{"p1":"v1","p2":["v2"]}""", added);

        var removed = Request("POST", contentType: "application/json", body: "");
        await Apply("""{"remove": {"body": ["p1"]}, "replace": {"body": ["p1:v1"]}}""", removed);
        AssertBody("", removed);
    }

    [Fact]
    public async Task ReplaceJson_KeepsTheOtherMembersAsTheyCame()
    {
        // Kong's suite: an empty array stays an empty array.
        var context = Request("POST", contentType: "application/json", body: """{"emptyarray":[], "p1":"v"}""");

        await Apply("""{"replace": {"body": ["p1:v1"]}}""", context);

        AssertBody("""{"emptyarray":[],"p1":"v1"}""", context);
    }

    [Theory]
    [InlineData("""{"replace": {"body": ["a:x"]}}""", """{"a":false}""", """{"a":false}""")]
    [InlineData("""{"rename": {"body": ["a:b"]}}""", """{"a":false}""", """{"a":false}""")]
    [InlineData("""{"add": {"body": ["a:x"]}}""", """{"a":false}""", """{"a":"x"}""")]
    [InlineData("""{"replace": {"body": ["n:x"]}}""", """{"a":false,"n":null}""", """{"a":false,"n":"x"}""")]
    public async Task JsonFalse_IsAbsentToKong_WhereItTestsAValue_AndNullIsNot(string config, string body, string expected)
    {
        var context = Request("POST", contentType: "application/json", body: body);

        await Apply(config, context);

        AssertBody(expected, context);
    }

    [Fact]
    public async Task AppendJson_MakesAList_OfWhatWasThere()
    {
        // Kong's append_value: a string becomes a list, a list grows, a number gives way, an object gets the keys 1, 2, ...
        var context = Request("POST", contentType: "application/json", body: """{"s":"x","n":5,"l":[1],"o":{"k":1}}""");

        await Apply("""{"append": {"body": ["s:v", "n:v", "l:v", "o:v", "o:w", "new:v"]}}""", context);

        AssertBody("""{"s":["x","v"],"n":["v"],"l":[1,"v"],"o":{"k":1,"1":"v","2":"w"},"new":["v"]}""", context);
    }

    [Fact]
    public async Task JsonNumbers_NothingTouched_KeepEveryDigit()
    {
        var context = Request("POST", contentType: "application/json", body: """{"big":12345678901234567890,"f":1.10,"p":"v"}""");

        await Apply("""{"remove": {"body": ["p"]}}""", context);

        AssertBody("""{"big":12345678901234567890,"f":1.10}""", context);
    }

    [Fact]
    public async Task JsonDuplicateKeys_TheLastWins()
    {
        var context = Request("POST", contentType: "application/json", body: """{"a":1,"a":2}""");

        await Apply("""{"rename": {"body": ["a:c"]}}""", context);

        AssertBody("""{"c":2}""", context);
    }

    [Fact]
    public async Task JsonUnicodeNames_AreMatchedAndWrittenAsUtf8()
    {
        var context = Request("POST", contentType: "application/json", body: """{"名前":"値","x":"<&>"}""");

        await Apply("""{"rename": {"body": ["名前:name"]}}""", context);

        AssertBody("""{"name":"値","x":"<&>"}""", context);
    }

    [Fact]
    public async Task JsonBody_NothingChanged_IsLeftByteForByte()
    {
        const string Body = """{ "a" : 1 }""";
        var context = Request("POST", contentType: "application/json", body: Body);

        await Apply("""{"remove": {"body": ["never-sent"]}, "rename": {"body": ["never:sent"]}}""", context);

        AssertBody(Body, context);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8", true)]
    [InlineData("APPLICATION/JSON", true)]
    [InlineData("application/json-patch+json", true)]
    [InlineData("text/plain", false)]
    public async Task JsonContentType_IsFoundAnywhereInTheHeader_AsKongSearchesIt(string contentType, bool transformed)
    {
        var context = Request("POST", contentType: contentType, body: "{}");

        await Apply("""{"add": {"body": ["p1:v1"]}}""", context);

        AssertBody(transformed ? """{"p1":"v1"}""" : "{}", context);
    }

    [Fact]
    public async Task ChunkedJson_Transformed_IsSentWithALengthInstead()
    {
        var context = Request("POST", contentType: "application/json", body: """{"a":1}""", declareLength: false,
            headers: [("Transfer-Encoding", "chunked")]);

        await Apply("""{"add": {"body": ["p1:v1"]}}""", context);

        AssertBody("""{"a":1,"p1":"v1"}""", context);
        Assert.False(context.Request.Headers.ContainsKey("Transfer-Encoding"));
    }

    // --- Form body ---

    [Fact]
    public async Task AppendForm_DocumentedRoute6()
    {
        // Kong's suite: p1=v0 with append p1:v1, p1:v2, p2:value:1 goes up with p1 = v0, v1, v2 and p2 = value:1.
        var context = Request("POST", contentType: "application/x-www-form-urlencoded", body: "p1=v0");

        await Apply("""{"append": {"body": ["p1:v1", "p1:v2", "p2:value:1"]}}""", context);

        AssertBody("p1=v0&p1=v1&p1=v2&p2=value%3A1", context);
    }

    [Theory]
    [InlineData("""{"remove": {"body": ["toremoveform"]}}""", "toremoveform=yes&nottoremove=yes", "nottoremove=yes")]
    [InlineData("""{"rename": {"body": ["originalparam:renamedparam"]}}""", "originalparam=yes", "renamedparam=yes")]
    [InlineData("""{"replace": {"body": ["p1:v1"]}}""", "p1=v&p2=v1", "p1=v1&p2=v1")]
    [InlineData("""{"replace": {"body": ["p1:v1"]}}""", "p2=v1", "p2=v1")]
    [InlineData("""{"add": {"body": ["p1:v1"]}}""", "p1=should+not+change&hello=world", "p1=should+not+change&hello=world")]
    [InlineData("""{"add": {"body": ["p1:v1"]}}""", "", "p1=v1")]
    [InlineData("""{"append": {"body": ["flag:v"]}}""", "flag&x=1", "flag=v&x=1")]
    [InlineData("""{"remove": {"body": ["b"]}}""", "a=x+y&b=1", "a=x%20y")]
    public async Task FormBody_TransformsAsKongsSuiteSays(string config, string body, string expected)
    {
        var context = Request("POST", contentType: "application/x-www-form-urlencoded", body: body);

        await Apply(config, context);

        AssertBody(expected, context);
    }

    [Fact]
    public async Task FormBody_ThatIsReallyJson_WithNothingToChange_IsLeftAsSent()
    {
        const string Body = """{"a":1}""";
        var context = Request("POST", contentType: "application/x-www-form-urlencoded", body: Body);

        await Apply("""{"remove": {"body": ["a"]}}""", context);

        AssertBody(Body, context);
    }

    // --- Multipart body ---

    [Fact]
    public async Task RemoveMultipart_DropsThePart_AndCopiesTheOthers()
    {
        var context = Request("POST", contentType: MultipartType, body: Multipart(Field("toremoveform", "yes"), Field("nottoremove", "yes")));

        await Apply("""{"remove": {"body": ["toremoveform"]}}""", context);

        AssertBody(Multipart(Field("nottoremove", "yes")), context);
    }

    [Fact]
    public async Task ReplaceMultipart_PutsAPlainPartAtTheEnd()
    {
        var typed = "Content-Disposition: form-data; name=\"p1\"\r\nContent-Type: text/plain\r\n\r\nv";
        var context = Request("POST", contentType: MultipartType, body: Multipart(typed, Field("p2", "v1")));

        await Apply("""{"replace": {"body": ["p1:v1", "absent:x"]}}""", context);

        AssertBody(Multipart(Field("p2", "v1"), Field("p1", "v1")), context);
    }

    [Fact]
    public async Task AddMultipart_ToAnEmptyBody_MakesOnePart()
    {
        var context = Request("POST", contentType: MultipartType, body: "");

        await Apply("""{"add": {"body": ["p1:v1"]}}""", context);

        AssertBody(Multipart(Field("p1", "v1")), context);
    }

    [Fact]
    public async Task RenameMultipart_FilePart_LosesItsFilenameAsInKong()
    {
        var file = "Content-Disposition: form-data; name=\"upload\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nbinary\r\nbytes";
        var context = Request("POST", contentType: "multipart/form-data; boundary=\"" + Boundary + "\"", body: Multipart(Field("keep", "1"), file));

        await Apply("""{"rename": {"body": ["upload:file"]}}""", context);

        AssertBody(Multipart(Field("keep", "1"), Field("file", "binary\r\nbytes")), context);
    }

    [Fact]
    public async Task Multipart_PreambleAndEpilogue_AreDropped_AndTheLastPartRemovedLeavesNoBody()
    {
        var context = Request("POST", contentType: MultipartType, body: "preamble\r\n" + Multipart(Field("x", "1")) + "epilogue");

        await Apply("""{"remove": {"body": ["x"]}}""", context);

        AssertBody("", context);
    }

    [Theory]
    [InlineData(MultipartType, "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n")]
    [InlineData(MultipartType, "no delimiter at all")]
    [InlineData(MultipartType, "--XyZ\nContent-Disposition: form-data; name=\"x\"\n\n1\n--XyZ--\n")]
    [InlineData("multipart/form-data", "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--XyZ--\r\n")]
    public async Task Multipart_ThatDoesNotParse_IsLeftAsSent(string contentType, string body)
    {
        var context = Request("POST", contentType: contentType, body: body);

        await Apply("""{"remove": {"body": ["x"]}, "add": {"body": ["y:2"]}}""", context);

        AssertBody(body, context);
    }

    [Fact]
    public async Task AppendMultipart_IsNotAKongOperation()
    {
        var body = Multipart(Field("p1", "This should not change"));
        var context = Request("POST", contentType: MultipartType, body: body);

        await Apply("""{"append": {"body": ["p1:v1", "p2:v1"]}}""", context);

        AssertBody(body, context);
    }

    // --- Method and path ---

    [Fact]
    public async Task HttpMethod_GetToPost_KeepsTheQuery()
    {
        var context = Request("GET", "?hello=world&name=marco");

        await Apply("""{"http_method": "POST"}""", context);

        Assert.Equal("POST", context.Request.Method);
        Assert.Equal("?hello=world&name=marco", context.Request.QueryString.Value);
    }

    [Theory]
    [InlineData("?hello=world", "name=marco", "?hello=world&name=marco")]
    [InlineData("?name=a", "name=b&x", "?name=a&name=b&x")]
    [InlineData("", "", "")]
    public async Task HttpMethod_PostToGet_PutsTheFormIntoTheQuery_AndKeepsTheBody(string query, string body, string expected)
    {
        var context = Request("POST", query, contentType: "application/x-www-form-urlencoded", body: body);

        await Apply("""{"http_method": "GET"}""", context);

        Assert.Equal("GET", context.Request.Method);
        Assert.Equal(expected, context.Request.QueryString.Value ?? "");
        AssertBody(body, context);
    }

    [Fact]
    public async Task HttpMethod_GetToPost_WithAddedContentTypeAndBody_SendsTheNewBody()
    {
        // Kong's suite (route 20): a GET with no body becomes a POST with a JSON body, the header added first.
        var context = Request("GET", body: null);

        await Apply("""{"http_method": "POST", "add": {"headers": ["Content-Type:application/json"], "body": ["body:somecontent"]}}""", context);

        Assert.Equal("POST", context.Request.Method);
        Assert.Equal("application/json", context.Request.ContentType);
        AssertBody("""{"body":"somecontent"}""", context);
        Assert.True(context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody);
    }

    [Fact]
    public async Task ReplaceUri_ChangesThePath_AndKeepsTheQuery()
    {
        var context = Request("GET", "?x=1");
        context.Request.Path = "/api/htest";

        await Apply("""{"replace": {"uri": "/api/v2/htest"}}""", context);

        Assert.Equal("/api/v2/htest", context.Request.Path.Value);
        Assert.Equal("?x=1", context.Request.QueryString.Value);
    }

    [Fact]
    public async Task ReplaceUri_Unicode_IsEscapedWhenForwarded()
    {
        // Kong's suite expects /requests/tést upstream as /requests/t%C3%A9st.
        var context = Request("GET");

        await Apply("""{"replace": {"uri": "/requests/tést"}}""", context);

        Assert.Equal("/requests/t%C3%A9st", context.Request.Path.ToUriComponent());
    }

    [Fact]
    public async Task ReplaceUri_WithoutLeadingSlash_IsKongsUnexpectedError()
    {
        var context = Request("GET");

        var refusal = await Transformer("""{"replace": {"uri": "v2/x"}}""").ApplyAsync(context);

        Assert.Equal(new PluginRefusal(500, "An unexpected error occurred"), refusal);
        Assert.Equal("/request", context.Request.Path.Value);
    }

    // --- Body limits ---

    [Fact]
    public async Task Body_DeclaredOverTheServerLimit_IsRefusedUnread()
    {
        var context = Request("POST", contentType: "application/json", body: """{"a":"12345"}""");
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(new ServerBodyLimit(10));

        var refusal = await Transformer("""{"add": {"body": ["p1:v1"]}}""").ApplyAsync(context);

        Assert.Equal(new PluginRefusal(413, "Request size limit exceeded"), refusal);
        Assert.Equal(0, context.Request.Body.Position);
    }

    [Fact]
    public async Task Body_ChunkedPastTheServerLimit_IsRefused_WhileOneAtTheLimitIsTransformed()
    {
        var over = Request("POST", contentType: "application/json", body: """{"a":"12345"}""", declareLength: false);
        over.Features.Set<IHttpMaxRequestBodySizeFeature>(new ServerBodyLimit(12));
        var refusal = await Transformer("""{"add": {"body": ["p1:v1"]}}""").ApplyAsync(over);
        Assert.Equal(413, refusal?.StatusCode);

        var atLimit = Request("POST", contentType: "application/json", body: """{"a":"1234"}""", declareLength: false);
        atLimit.Features.Set<IHttpMaxRequestBodySizeFeature>(new ServerBodyLimit(12));
        await Apply("""{"add": {"body": ["p1:v1"]}}""", atLimit);
        AssertBody("""{"a":"1234","p1":"v1"}""", atLimit);
    }

    [Fact]
    public async Task Body_HugeDeclaredLength_WithNoServerLimit_IsRefusedAtTheDefaultCap()
    {
        var context = Request("POST", contentType: "application/x-www-form-urlencoded", body: "a=1");
        context.Request.ContentLength = KongRequestTransformer.BodyLimitWithoutServerLimit + 1;

        var refusal = await Transformer("""{"add": {"body": ["p1:v1"]}}""").ApplyAsync(context);

        Assert.Equal(new PluginRefusal(413, "Request size limit exceeded"), refusal);
    }

    [Fact]
    public async Task Body_TheServerCannotRead_IsRefusedWithItsStatus()
    {
        var context = Request("POST", contentType: "application/json");
        context.Request.Body = new UnreadableBody(StatusCodes.Status400BadRequest);

        var refusal = await Transformer("""{"add": {"body": ["p1:v1"]}}""").ApplyAsync(context);

        Assert.Equal(new PluginRefusal(400, "Bad request"), refusal);
    }

    [Theory]
    [InlineData("""{"add": {"headers": ["h1:v1"]}}""", "application/json")]
    [InlineData("""{"add": {"body": ["p1:v1"]}}""", null)]
    [InlineData("""{"add": {"body": ["p1:v1"]}}""", "application/octet-stream")]
    public async Task Body_NoBodyTransformForItsType_IsNeverRead(string config, string? contentType)
    {
        var context = Request("POST", contentType: contentType);
        var body = new UnreadableBody(StatusCodes.Status400BadRequest);
        context.Request.Body = body;

        await Apply(config, context);

        Assert.Same(body, context.Request.Body);
    }

    // --- Helpers ---

    private static KongRequestTransformer Transformer(string config)
    {
        var result = DeclarativeParser.Parse($$"""
            _format_version: "3.0"
            plugins:
            - name: request-transformer
              config: {{config.ReplaceLineEndings(" ")}}
            """);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        return new KongRequestTransformer(Assert.IsType<RequestTransformerConfig>(result.Config!.Plugins[0].Config));
    }

    private static async Task Apply(string config, HttpContext context)
    {
        var refusal = await Transformer(config).ApplyAsync(context);
        Assert.Null(refusal);
    }

    private static DefaultHttpContext Request(string method, string query = "", string? contentType = null, string? body = null,
        bool declareLength = true, (string Name, string Value)[]? headers = null)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = method;
        request.Path = "/request";
        request.QueryString = new QueryString(query.Length == 0 ? null : query);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.Append(name, value);
        }

        if (contentType is not null)
        {
            request.ContentType = contentType;
        }

        if (body is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            request.Body = new MemoryStream(bytes);
            if (declareLength)
            {
                request.ContentLength = bytes.Length;
            }
        }

        return context;
    }

    /// <summary>The body the upstream would read, and the Content-Length it would be told.</summary>
    private static void AssertBody(string expected, HttpContext context)
    {
        using var copy = new MemoryStream();
        context.Request.Body.CopyTo(copy);
        var body = Encoding.UTF8.GetString(copy.ToArray());
        Assert.Equal(expected, body);
        if (context.Request.ContentLength is { } length)
        {
            Assert.Equal(Encoding.UTF8.GetByteCount(expected), length);
        }
    }

    private static string[] HeaderValues(HttpContext context, string name) => Array.ConvertAll(context.Request.Headers[name].ToArray(), value => value ?? "");

    private static string Field(string name, string value) => $"Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}";

    private static string Multipart(params string[] parts)
    {
        var body = new StringBuilder();
        foreach (var part in parts)
        {
            body.Append("--").Append(Boundary).Append("\r\n").Append(part).Append("\r\n");
        }

        return body.Append("--").Append(Boundary).Append("--\r\n").ToString();
    }

    private sealed class ServerBodyLimit(long? limit) : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => false;

        public long? MaxRequestBodySize { get; set; } = limit;
    }

    /// <summary>A body the server gives up on, as Kestrel does on a broken chunk.</summary>
    private sealed class UnreadableBody(int statusCode) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => 0;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new BadHttpRequestException("broken body", statusCode);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new BadHttpRequestException("broken body", statusCode);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
