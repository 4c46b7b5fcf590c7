namespace MlPlatform.Inference.Repository;

/// <summary>What a scan of the repository found: each model folder, and problems of the repository itself.</summary>
internal sealed record RepositoryScan(IReadOnlyList<ScannedModel> Models, IReadOnlyList<string> Problems);

/// <summary>One model folder as read: its definition when it can be served, else the problems that stop it.</summary>
internal sealed record ScannedModel(string Name, string Directory, ModelDefinition? Definition, IReadOnlyList<string> Problems);
