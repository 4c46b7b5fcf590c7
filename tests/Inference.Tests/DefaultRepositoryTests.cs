extern alias InferenceService;

using System.Net;
using System.Text.Json;
using InferenceService::MlPlatform.Inference.Repository;
using MlPlatform.TestSupport;

namespace MlPlatform.Inference.Tests;

/// <summary>
/// Without <c>Inference:ModelRepository</c> the service serves <c>models/</c> of the working directory, or the
/// bundled one of the source tree it was built from; a configured folder is used as given.
/// </summary>
public sealed class DefaultRepositoryTests
{
    [Fact]
    public async Task Start_FromBuildOutputElsewhereWithoutSetting_ServesTheBundledModels()
    {
        var elsewhere = Directory.CreateTempSubdirectory("mlplatform-elsewhere-").FullName;
        try
        {
            // As `dotnet run --no-launch-profile` or the built executable started from another folder runs it.
            await using var service = await ServiceProcess.StartAsync("Services/Inference", "MlPlatform.Inference", workingDirectory: elsewhere);

            using var ready = await service.Client.GetAsync("/v2/models/mnist/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var request = await File.ReadAllTextAsync(RepositoryPaths.InRoot("models", "mnist", "example-request.json"));
            var (response, body) = await ProtocolHttp.PostJsonAsync(service.Client, "/v2/models/mnist/infer", request);
            using (response)
            using (body)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("mnist", body.RootElement.GetProperty("model_name").GetString());
                Assert.Equal(JsonValueKind.Array, Assert.Single(body.RootElement.GetProperty("outputs").EnumerateArray()).GetProperty("data").ValueKind);
            }

            Assert.Contains($"Model repository {RepositoryPaths.InRoot("models")}: 1 models found", service.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task Start_ConfiguredRelativeFolderMissing_FailsNamingItWithoutFallingBack()
    {
        var elsewhere = Directory.CreateTempSubdirectory("mlplatform-elsewhere-").FullName;
        try
        {
            await using var service = ServiceProcess.Launch(
                "Services/Inference",
                "MlPlatform.Inference",
                new Dictionary<string, string?> { ["Inference__ModelRepository"] = "models" },
                workingDirectory: elsewhere);

            var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
            // The output stream may still be draining after the exit.
            await Task.Delay(200);

            Assert.Equal(1, exitCode);
            Assert.Contains(
                $"error: {Path.Combine(elsewhere, "models")}: the model repository folder does not exist",
                service.Output,
                StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void Resolve_Configured_IsTakenAsGivenFromTheWorkingDirectory()
    {
        var root = Directory.CreateTempSubdirectory("mlplatform-root-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "models"));

            Assert.Equal("/work/here/my-models", ModelRepositoryLocation.Resolve("my-models", "/work/here", root));
            Assert.Equal("/srv/models", ModelRepositoryLocation.Resolve("/srv/models", "/work/here", root));
            Assert.Equal("/work/models", ModelRepositoryLocation.Resolve("../models", "/work/here", root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Resolve_Unset_PrefersTheWorkingDirectorysModelsThenTheBuildRoots()
    {
        var root = Directory.CreateTempSubdirectory("mlplatform-root-").FullName;
        var working = Directory.CreateTempSubdirectory("mlplatform-working-").FullName;
        try
        {
            // Neither exists: the working directory's, so the error names the documented default.
            Assert.Equal(Path.Combine(working, "models"), ModelRepositoryLocation.Resolve(null, working, root));
            Assert.Equal(Path.Combine(working, "models"), ModelRepositoryLocation.Resolve(null, working, buildRoot: null));

            Directory.CreateDirectory(Path.Combine(root, "models"));
            Assert.Equal(Path.Combine(root, "models"), ModelRepositoryLocation.Resolve(null, working, root + Path.DirectorySeparatorChar));

            Directory.CreateDirectory(Path.Combine(working, "models"));
            Assert.Equal(Path.Combine(working, "models"), ModelRepositoryLocation.Resolve(null, working, root));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(working, recursive: true);
        }
    }
}
