namespace MlPlatform.AppHost.Running;

public enum ReplicaState
{
    NotStarted,
    Starting,
    Running,
    Unhealthy,
    Exited,
    Restarting,
    Stopped,
}
