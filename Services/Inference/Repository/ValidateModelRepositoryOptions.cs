using Microsoft.Extensions.Options;

namespace MlPlatform.Inference.Repository;

/// <summary>
/// The model repository is part of the settings: it is checked with them, before the server starts, every
/// problem named by the file and the field, so a repository that cannot be served stops start-up the way a
/// bad setting does (unless <c>ExitOnError</c> is false). Only the configs are read here; the models are loaded,
/// and may still fail, afterwards.
/// </summary>
internal sealed class ValidateModelRepositoryOptions : IValidateOptions<ModelRepositoryOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelRepositoryOptions options)
    {
        if (options.ModelRepository is { } configured && string.IsNullOrWhiteSpace(configured))
        {
            return ValidateOptionsResult.Fail(
                $"{ModelRepositoryOptions.SectionName}:{nameof(ModelRepositoryOptions.ModelRepository)} is empty; set it to the folder that holds your models, " +
                $"or leave it unset to serve {ModelRepositoryLocation.DefaultFolderName}/ in the working directory.");
        }

        if (!Enum.IsDefined(options.ModelControlMode))
        {
            return ValidateOptionsResult.Fail(
                $"{ModelRepositoryOptions.SectionName}:{nameof(ModelRepositoryOptions.ModelControlMode)} is {(int)options.ModelControlMode}; expected none, explicit or poll");
        }

        var path = ModelRepositoryLocation.Resolve(options.ModelRepository);
        var selection = StartupModelSelection.Select(options, path, ModelRepositoryScanner.ScanAll(path));
        return selection.FatalProblems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(selection.FatalProblems);
    }
}
