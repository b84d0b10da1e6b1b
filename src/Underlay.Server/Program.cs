Console.WriteLine("underlayd");
