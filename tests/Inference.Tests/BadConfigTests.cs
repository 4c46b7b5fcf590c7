using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>A repository the server cannot serve stops start-up with a message naming the file and the field.</summary>
public sealed class BadConfigTests
{
    public static TheoryData<string, string[]> BadConfigs() => new()
    {
        { """{"name":"m","max_batch_size":-3}""", ["config.json", "max_batch_size", "-3"] },
        { """{"name":"m","max_batch_sise":4}""", ["config.json", "max_batch_sise"] },
        { """{"name":"m","max_batch_size":"four"}""", ["config.json", "max_batch_size"] },
        { """{"name":"m",""", ["config.json", "line"] },
        { """{"name":"other"}""", ["config.json", "'name'", "other"] },
        { """{"name":"m","max_batch_size":4,"dynamic_batching":{"preferred_batch_size":[0, 8]}}""", ["preferred_batch_size[0]", "preferred_batch_size[1]"] },
        { """{"name":"m","onnxruntime":{"graph_optimization_level":"max"}}""", ["onnxruntime.graph_optimization_level", "max"] },
        // Valid JSON, but the graph has no batch dimension for max_batch_size to split.
        { """{"name":"m","max_batch_size":4}""", ["max_batch_size", "batch"] },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public async Task Start_BadConfig_ExitsNamingFileAndField(string config, string[] expectedFragments)
    {
        var repository = TestModels.CreateRepository();
        try
        {
            TestModels.AddModel(repository, "m", config, (1, TestModels.AddConstant(1).Input("fixed", OnnxWriter.OnnxElementType.Float, 3).Output("fixed_out", OnnxWriter.OnnxElementType.Float, 3).Node("Identity", ["fixed"], ["fixed_out"])));

            var output = await RunUntilExitAsync(repository);

            foreach (var fragment in expectedFragments)
            {
                Assert.Contains(fragment, output);
            }
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task Start_ModelFileIsNotOnnx_ExitsNamingTheFile()
    {
        var repository = TestModels.CreateRepository();
        try
        {
            var versionDirectory = Path.Combine(repository, "broken", "1");
            Directory.CreateDirectory(versionDirectory);
            File.WriteAllText(Path.Combine(repository, "broken", "config.json"), """{"name":"broken"}""");
            File.WriteAllText(Path.Combine(versionDirectory, "model.onnx"), "this is not a model");

            var output = await RunUntilExitAsync(repository);

            Assert.Contains(Path.Combine("broken", "1", "model.onnx"), output);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task Start_RepositoryMissing_ExitsNamingTheSetting()
    {
        var output = await RunUntilExitAsync("/nonexistent/mlplatform-models");

        Assert.Contains("Inference:ModelRepository", output);
    }

    [Theory]
    [InlineData("Inference__RetryAfterSeconds", "0", "RetryAfterSeconds")]
    [InlineData("Inference__MaxRequestBodyBytes", "12", "MaxRequestBodyBytes")]
    [InlineData("Inference__ModelRepository", "", "ModelRepository")]
    public async Task Start_SettingOutOfRange_ExitsWithOneLineNamingIt(string variable, string value, string setting)
    {
        var output = await RunUntilExitAsync(RepositoryPaths.InRoot("models"), new Dictionary<string, string?> { [variable] = value });

        Assert.Contains("Invalid settings: ", output);
        Assert.Contains(setting, output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output);
    }

    private static async Task<string> RunUntilExitAsync(string repository, Dictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>(settings ?? []);
        environment.TryAdd("Inference__ModelRepository", repository);
        await using var service = ServiceProcess.Launch("Services/Inference", "MlPlatform.Inference", environment);

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        // The output stream may still be draining after the exit.
        await Task.Delay(200);
        Assert.NotEqual(0, exitCode);
        return service.Output;
    }
}
