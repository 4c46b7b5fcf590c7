namespace MlPlatform.Inference.Repository;

/// <summary>
/// Which models load at start, by the control mode, and what stops the start: with <c>ExitOnError</c> any model
/// that cannot be served, without it only a repository that is not there at all.
/// </summary>
internal sealed record StartupModelSelection(IReadOnlyList<ScannedModel> Models, IReadOnlyList<string> FatalProblems, IReadOnlyList<string> ModelProblems)
{
    public static StartupModelSelection Select(ModelRepositoryOptions options, string repositoryPath, RepositoryScan scan)
    {
        var fatal = new List<string>(scan.Problems);
        var modelProblems = new List<string>();
        var selected = new List<ScannedModel>();
        var key = $"{ModelRepositoryOptions.SectionName}:{nameof(ModelRepositoryOptions.StartupModels)}";
        if (options.ModelControlMode != ModelControlMode.Explicit)
        {
            if (options.StartupModels.Length > 0)
            {
                fatal.Add($"{key} is read only when {ModelRepositoryOptions.SectionName}:{nameof(ModelRepositoryOptions.ModelControlMode)} is explicit; in {options.ModelControlMode.ToString().ToLowerInvariant()} mode every model loads at start");
            }

            selected.AddRange(scan.Models);
            if (options.ModelControlMode == ModelControlMode.None && scan.Models.Count == 0 && scan.Problems.Count == 0)
            {
                // Nothing can ever be added in this mode: a server of no models is a mistake.
                fatal.Add($"{repositoryPath}: no model folders (expected {{model}}/{ModelRepositoryScanner.ConfigFileName} and {{model}}/{{version}}/{ModelRepositoryScanner.ModelFileName})");
            }
        }
        else if (Array.IndexOf(options.StartupModels, ModelRepositoryOptions.AllModels) >= 0)
        {
            selected.AddRange(scan.Models);
        }
        else
        {
            foreach (var name in options.StartupModels.Distinct(StringComparer.Ordinal))
            {
                var model = scan.Models.FirstOrDefault(m => m.Name == name);
                if (model is null)
                {
                    modelProblems.Add($"{key} names '{name}', but {repositoryPath} has no such model folder");
                }
                else
                {
                    selected.Add(model);
                }
            }
        }

        foreach (var model in selected)
        {
            modelProblems.AddRange(model.Problems);
        }

        if (options.ExitOnError)
        {
            fatal.AddRange(modelProblems);
        }

        return new StartupModelSelection(selected, fatal, modelProblems);
    }
}
