namespace Underlay.Images;

/// <summary>A build failed for a reason the user can act on (bad spec, bad image, missing tool); the message says which.</summary>
public sealed class ImageBuildException : Exception
{
    public ImageBuildException()
    {
    }

    public ImageBuildException(string message)
        : base(message)
    {
    }

    public ImageBuildException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
