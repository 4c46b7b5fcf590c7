using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// A repository the server cannot serve, or a bad setting, stops start-up with exit code 1 and one
/// <c>error: </c> line per problem naming the file and the field or the setting, never a stack trace.
/// </summary>
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

            var errors = await RunUntilExitAsync(repository);

            foreach (var fragment in expectedFragments)
            {
                Assert.Contains(errors, line => line.Contains(fragment, StringComparison.Ordinal));
            }

            Assert.All(errors, line => Assert.Contains(Path.Combine(repository, "m"), line, StringComparison.Ordinal));
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

            var errors = await RunUntilExitAsync(repository);

            var error = Assert.Single(errors);
            Assert.Contains(Path.Combine(repository, "broken", "1", "model.onnx"), error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    [Fact]
    public async Task Start_RepositoryMissing_ExitsNamingTheSetting()
    {
        var errors = await RunUntilExitAsync("/nonexistent/mlplatform-models");

        var error = Assert.Single(errors);
        Assert.StartsWith("error: /nonexistent/mlplatform-models: ", error, StringComparison.Ordinal);
        Assert.Contains("Inference:ModelRepository", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Inference__RetryAfterSeconds", "0", "error: Inference:RetryAfterSeconds: The field RetryAfterSeconds must be between 1 and 3600.")]
    [InlineData("Inference__MaxRequestBodyBytes", "12", "error: Inference:MaxRequestBodyBytes: The field MaxRequestBodyBytes must be between 1024 and 2147483647.")]
    [InlineData("Inference__MaxRequestBodyBytes", "lots", "error: Inference:MaxRequestBodyBytes: ")]
    [InlineData("Inference__ModelRepository", "", "error: Inference:ModelRepository is empty")]
    public async Task Start_BadSetting_ExitsWithOneLineNamingIt(string variable, string value, string expectedStart)
    {
        var errors = await RunUntilExitAsync(RepositoryPaths.InRoot("models"), new Dictionary<string, string?> { [variable] = value });

        var error = Assert.Single(errors);
        Assert.StartsWith(expectedStart, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_SeveralBadSettings_ExitsWithOneLineForEach()
    {
        var errors = await RunUntilExitAsync(RepositoryPaths.InRoot("models"), new Dictionary<string, string?>
        {
            ["Inference__RetryAfterSeconds"] = "0",
            ["Inference__MaxRequestBodyBytes"] = "12",
        });

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, line => line.StartsWith("error: Inference:RetryAfterSeconds: ", StringComparison.Ordinal));
        Assert.Contains(errors, line => line.StartsWith("error: Inference:MaxRequestBodyBytes: ", StringComparison.Ordinal));
    }

    /// <summary>Runs the service until it exits by itself, which must be with code 1 and no stack trace; returns its error lines.</summary>
    private static async Task<IReadOnlyList<string>> RunUntilExitAsync(string repository, Dictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>(settings ?? []);
        environment.TryAdd("Inference__ModelRepository", repository);
        await using var service = ServiceProcess.Launch("Services/Inference", "MlPlatform.Inference", environment);

        var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
        // The output stream may still be draining after the exit.
        await Task.Delay(200);
        var output = service.Output;
        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{output}");
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        var errors = output.Split(Environment.NewLine).Where(line => line.StartsWith("error: ", StringComparison.Ordinal)).ToArray();
        Assert.True(errors.Length > 0, $"no error line:{Environment.NewLine}{output}");
        return errors;
    }
}
