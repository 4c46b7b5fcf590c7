using Microsoft.Extensions.Configuration;
using MlPlatform.AppHost.Model;

namespace MlPlatform.AppHost.Tests;

public sealed class ApplicationModelTests
{
    private static ApplicationModel Describe(params (string Key, string Value)[] settings) =>
        MlPlatformApplication.Describe(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(),
            "/models");

    [Fact]
    public void Describe_Defaults_GatewayOneAndTwoOfEachService()
    {
        var model = Describe();

        Assert.Equal(1, model["gateway"].Replicas);
        Assert.Equal(2, model["preprocessing"].Replicas);
        Assert.Equal(2, model["inference"].Replicas);
        Assert.Equal(2, model["postprocessing"].Replicas);
        Assert.Equal(8080, model["gateway"].Port);
        Assert.True(model["gateway"].IsExternal);
        Assert.False(model["inference"].IsExternal);
    }

    [Fact]
    public void Describe_ReplicaOverride_TakesConfiguration()
    {
        var model = Describe(("AppHost:Replicas:inference", "5"));

        Assert.Equal(5, model["inference"].Replicas);
    }

    [Fact]
    public void Describe_NegativeReplicas_RefusedNamingTheKey()
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(() => Describe(("AppHost:Replicas:inference", "-1")));

        Assert.Contains("AppHost:Replicas:inference", exception.Message);
    }

    [Fact]
    public void InStartOrder_DependenciesFirst_InferenceBeforeItsClientsAndGatewayLast()
    {
        var order = Describe().InStartOrder().Select(s => s.Name).ToList();

        Assert.Equal("inference", order[0]);
        Assert.Equal("gateway", order[^1]);
        Assert.True(order.IndexOf("preprocessing") < order.IndexOf("gateway"));
    }

    [Fact]
    public void InStartOrder_Cycle_Throws()
    {
        var model = new ApplicationModel();
        var a = model.AddProject("a", "A", "A");
        var b = model.AddProject("b", "B", "B").WaitFor(a);
        a.WaitFor(b);

        Assert.Throws<InvalidOperationException>(() => model.InStartOrder());
    }

    [Theory]
    [InlineData("Inference")]
    [InlineData("my_service")]
    [InlineData("-x")]
    [InlineData("")]
    public void AddProject_NameNotDns1123_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => new ApplicationModel().AddProject(name, "X", "X"));
    }
}
